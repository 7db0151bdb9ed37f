"""Matplotlib figures as base64 PNG, for embedding in the HTML report."""

from __future__ import annotations

import base64
import io

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def to_png(fig) -> str:
    plt = _pyplot()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def learning_curves(history: dict) -> str | None:
    pairs = [(k, f"val_{k}") for k in history if not k.startswith("val_") and f"val_{k}" in history]
    if not pairs:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(pairs), figsize=(5 * len(pairs), 3.2), squeeze=False)
    for ax, (train_key, val_key) in zip(axes[0], pairs):
        epochs = np.arange(1, len(history[train_key]) + 1)
        ax.plot(epochs, history[train_key], label=f"train {train_key}")
        ax.plot(epochs, history[val_key], label=f"validation {train_key}")
        ax.set_xlabel("epoch")
        ax.set_title(train_key)
        ax.legend()
    return to_png(fig)


def confusion_matrix(matrix, names: list[str]) -> str:
    plt = _pyplot()
    matrix = np.asarray(matrix)
    size = max(4, 0.55 * len(names) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(names)), names, rotation=60, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    peak = matrix.max() if matrix.size else 1
    for (i, j), value in np.ndenumerate(matrix):
        ax.text(j, i, str(value), ha="center", va="center", fontsize=7,
                color="white" if value > peak / 2 else "black")
    return to_png(fig)


def image_grid(images: np.ndarray, titles: list[str], wrong: list[bool], columns: int = 8) -> str:
    plt = _pyplot()
    rows = int(np.ceil(len(images) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 1.5, rows * 1.8), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, title, bad in zip(axes.flat, images, titles, wrong):
        pixels = np.clip(image, 0, 255).astype(np.uint8)
        ax.imshow(pixels[..., 0] if pixels.shape[-1] == 1 else pixels, cmap="gray")
        ax.set_title(title, fontsize=7, color="crimson" if bad else "black")
    return to_png(fig)


def forecast_plot(times, actual, all_times, origins, forecasts, names: list[str], shown: int = 6) -> str:
    """The test part's actuals with forecasts from a few origins spread over it."""
    plt = _pyplot()
    targets = actual.shape[1]
    fig, axes = plt.subplots(targets, 1, figsize=(11, 3.2 * targets), squeeze=False)
    picked = np.unique(np.linspace(0, len(origins) - 1, min(shown, len(origins))).astype(int))
    horizon = forecasts.shape[1]
    for j, ax in enumerate(axes[:, 0]):
        ax.plot(times, actual[:, j], color="black", linewidth=1, label="actual")
        for n, i in enumerate(picked):
            steps = all_times[origins[i]:origins[i] + horizon]
            ax.plot(steps, forecasts[i, :, j], color="tab:orange", linewidth=1.5,
                    label="forecast" if n == 0 else None)
        ax.set_title(names[j])
        ax.legend()
    fig.autofmt_xdate()
    return to_png(fig)


def error_by_step(curves: dict) -> str:
    """Mean absolute error at each horizon step, one line per forecaster."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.5))
    for name, values in curves.items():
        ax.plot(np.arange(1, len(values) + 1), values, label=name, linewidth=2 if name == "model" else 1)
    ax.set_xlabel("steps ahead")
    ax.set_ylabel("MAE")
    ax.legend()
    return to_png(fig)


def _display(image: np.ndarray, intensity_range) -> np.ndarray:
    """Pixels scaled to 0..1 over the data's intensity range, grey as (H, W)."""
    low, high = intensity_range
    pixels = np.clip((image - low) / max(high - low, 1e-6), 0, 1)
    return pixels[..., 0] if pixels.shape[-1] == 1 else pixels


def mask_overlays(images, true_masks, predicted_masks, names: list[str], intensity_range) -> str:
    """One row per example: the image, the true mask over it, the predicted mask over it.

    The third column's title gives the share of wrongly classed pixels.
    """
    plt = _pyplot()
    from matplotlib.colors import ListedColormap

    colours = plt.get_cmap("tab10")(np.arange(len(names)) % 10)
    colours[0, 3] = 0.0  # class 0 (background, usually) stays see-through
    cmap = ListedColormap(colours)
    rows = len(images)
    fig, axes = plt.subplots(rows, 3, figsize=(7.5, 2.5 * rows), squeeze=False)
    for row, (image, truth, predicted) in enumerate(zip(images, true_masks, predicted_masks)):
        shown = _display(image, intensity_range)
        wrong = float(np.mean(truth != predicted))
        for col, (mask, title) in enumerate(((None, "image"), (truth, "true mask"),
                                             (predicted, f"predicted ({wrong:.1%} pixels wrong)"))):
            ax = axes[row, col]
            ax.imshow(shown, cmap="gray")
            if mask is not None:
                ax.imshow(mask, cmap=cmap, vmin=0, vmax=len(names) - 1, alpha=0.45, interpolation="nearest")
            ax.set_title(title, fontsize=8)
            ax.axis("off")
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours[i], alpha=0.6) for i in range(1, len(names))]
    if handles:
        fig.legend(handles, names[1:], loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=min(6, len(handles)),
                   fontsize=8)
    return to_png(fig)


def regions_overlay(image, predicted_mask, regions: dict, names: list[str], intensity_range) -> str:
    """A whole image with the split's regions outlined, beside a predicted mask placed back in it.

    `predicted_mask` is -1 where nothing was predicted (outside the test regions).
    """
    plt = _pyplot()
    colours = {"train": "tab:blue", "val": "tab:orange", "test": "tab:red"}
    fig, axes = plt.subplots(1, 2, figsize=(11, 5.5))
    shown = _display(image, intensity_range)
    for ax, title in zip(axes, ("image and split regions", "test tiles' predicted mask, put back in place")):
        ax.imshow(shown, cmap="gray")
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    masked = np.ma.masked_where(predicted_mask <= 0, predicted_mask)
    axes[1].imshow(masked, cmap="tab10", vmin=0, vmax=9, alpha=0.5, interpolation="nearest")
    for part, boxes in regions.items():
        for box in boxes:
            axes[0].add_patch(plt.Rectangle((box.left, box.top), box.right - box.left - 1, box.bottom - box.top - 1,
                                            fill=False, color=colours[part], linewidth=1.5))
            axes[0].text(box.left + 3, box.top + 12, part, color=colours[part], fontsize=7)
    return to_png(fig)
