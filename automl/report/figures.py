"""Matplotlib figures as base64 PNG, for embedding in the HTML report."""

from __future__ import annotations

import base64
import io

import numpy as np


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def to_png(fig) -> str:
    plt = pyplot()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def learning_curves(history: dict) -> str | None:
    pairs = [(k, f"val_{k}") for k in history if not k.startswith("val_") and f"val_{k}" in history]
    if not pairs:
        return None
    plt = pyplot()
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
    plt = pyplot()
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
    plt = pyplot()
    rows = int(np.ceil(len(images) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 1.5, rows * 1.8), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, title, bad in zip(axes.flat, images, titles, wrong):
        pixels = np.clip(image, 0, 255).astype(np.uint8)
        ax.imshow(pixels[..., 0] if pixels.shape[-1] == 1 else pixels, cmap="gray")
        ax.set_title(title, fontsize=7, color="crimson" if bad else "black")
    return to_png(fig)


def objective_by_time(points: list, name: str) -> str | None:
    """The search's best objective so far against its seconds, one step per trial."""
    if len(points) < 2:
        return None
    plt = pyplot()
    seconds, values = zip(*points)
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.step(seconds, values, where="post", marker="o", markersize=3)
    ax.set_xlabel("search seconds")
    ax.set_ylabel(f"best {name}")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return to_png(fig)
