"""The image generation report's figures: the distance curve, class shares, memorization check."""

from __future__ import annotations

import numpy as np

from automl.report.figures import pyplot, to_png


def distance_curve(history: dict) -> str | None:
    """Validation Frechet distance per fine-tuning epoch, beside both networks' losses."""
    distances = history.get("val_frechet_distance")
    if not distances:
        return None
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2))
    epochs = np.arange(1, len(distances) + 1)
    left.plot(epochs, distances, marker="o", markersize=3)
    left.set_xlabel("epoch")
    left.set_title("validation Frechet distance (lower is better)")
    for key in ("d_loss", "g_loss"):
        if key in history:
            right.plot(np.arange(1, len(history[key]) + 1), history[key], label=key)
    right.set_xlabel("epoch")
    right.set_title("losses")
    right.legend()
    return to_png(fig)


def class_share_bars(shares: list[float], names: list[str]) -> str:
    """Share of generated samples the classifier puts in each class; the even share dashed."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(max(4, 0.6 * len(names) + 2), 3.2))
    ax.bar(range(len(shares)), shares)
    ax.axhline(1 / len(shares), color="grey", linestyle="--", linewidth=1)
    ax.set_xticks(range(len(names)), names, rotation=60, ha="right")
    ax.set_ylabel("share of samples")
    return to_png(fig)


def nearest_pairs(generated: np.ndarray, nearest: np.ndarray, distances: np.ndarray) -> str:
    """Each generated image (top) above its nearest training image in feature space (bottom)."""
    plt = pyplot()
    count = len(generated)
    fig, axes = plt.subplots(2, count, figsize=(1.5 * count, 3.4), squeeze=False)
    for i in range(count):
        for row, image in ((0, generated[i]), (1, nearest[i])):
            ax = axes[row][i]
            ax.axis("off")
            ax.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray")
        axes[0][i].set_title("generated", fontsize=10)
        axes[1][i].set_title(f"nearest real\n(distance {distances[i]:.2f})", fontsize=10)
    return to_png(fig)


def epoch_rows(by_epoch: dict, most_rows: int = 10) -> str:
    """One row of samples per epoch (up to `most_rows` epochs, evenly picked, the last included)."""
    epochs = sorted(by_epoch)
    rows = min(most_rows, len(epochs))
    picked = [epochs[i] for i in sorted({round(j) for j in np.linspace(0, len(epochs) - 1, rows)})]
    columns = len(by_epoch[picked[0]])
    plt = pyplot()
    fig, axes = plt.subplots(len(picked), columns, figsize=(1.2 * columns, 1.25 * len(picked)), squeeze=False)
    for row, epoch in zip(axes, picked):
        for ax, image in zip(row, by_epoch[epoch]):
            ax.axis("off")
            ax.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray")
        row[0].set_title(f"epoch {epoch}", fontsize=10, loc="left")
    return to_png(fig)
