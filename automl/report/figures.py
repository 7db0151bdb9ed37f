"""Matplotlib figures as base64 PNG, for embedding in the HTML report."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Read at 100% zoom: figures are shown at about their saved size, so text is sized for that.
    plt.rcParams.update({"font.size": 11, "axes.titlesize": 12, "legend.fontsize": 10})
    return plt


def to_png(fig) -> str:
    plt = pyplot()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def learning_curves(history: dict, objective: str | None = None, direction: str | None = None) -> str | None:
    """Train and validation curves per metric; the epoch best on the objective (`val_...`) marked on each."""
    pairs = [(k, f"val_{k}") for k in history if not k.startswith("val_") and f"val_{k}" in history]
    if not pairs:
        return None
    chosen = None
    if objective in history and history[objective]:
        values = np.asarray(history[objective], dtype=float)
        chosen = int(np.nanargmax(values) if direction == "max" else np.nanargmin(values)) + 1
    plt = pyplot()
    fig, axes = plt.subplots(1, len(pairs), figsize=(5.2 * len(pairs), 3.6), squeeze=False)
    for ax, (train_key, val_key) in zip(axes[0], pairs):
        epochs = np.arange(1, len(history[train_key]) + 1)
        ax.plot(epochs, history[train_key], label="train")
        ax.plot(epochs, history[val_key], label="validation")
        if chosen is not None:
            ax.axvline(chosen, color="grey", linestyle="--", linewidth=1)
            ax.plot([chosen], [history[val_key][chosen - 1]], "o", color="crimson",
                    label=f"best on validation (epoch {chosen})")
        ax.set_xlabel("epoch")
        ax.set_title(train_key.replace("_", " "))
        ax.legend()
    fig.tight_layout()
    return to_png(fig)


def exports_chart(rows: list[dict], metric: str | None) -> str | None:
    """Each TFLite file as a point: size across, the test metric up, latency in its label."""
    points = [r for r in rows if r.get("format") == "tflite" and "bytes" in r
              and (r.get("test_metrics") or {}).get(metric) is not None]
    if len(points) < 2:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.8))
    for index, row in enumerate(sorted(points, key=lambda r: r["bytes"])):
        size, value = row["bytes"] / 1024, row["test_metrics"][metric]
        ax.scatter([size], [value], s=60, color="crimson" if row.get("rejected") else "#1f77b4")
        latency = f", {row['latency_ms']:.3g} ms" if row.get("latency_ms") is not None else ""
        ax.annotate(f"{Path(row['path']).stem.replace('model_', '')}{latency}", (size, value),
                    textcoords="offset points", xytext=(6, 6 if index % 2 == 0 else -16))  # neighbours apart
    from matplotlib.ticker import FuncFormatter, NullFormatter

    sizes = [row["bytes"] / 1024 for row in points]
    wide = max(sizes) / max(min(sizes), 1e-9) > 20  # a log scale only where sizes span decades
    if wide:
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # labelled minor ticks ran into each other
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    ax.set_xlabel("file size (KiB, log scale)" if wide else "file size (KiB)")
    ax.set_ylabel(f"{metric.replace('_', ' ')} on LiteRT (test)")
    ax.grid(alpha=0.3)
    ax.margins(x=0.25, y=0.25)
    fig.tight_layout()
    return to_png(fig)


def image_grid(images: np.ndarray, titles: list[str], wrong: list[bool], columns: int = 8) -> str:
    plt = pyplot()
    rows = int(np.ceil(len(images) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 1.7, rows * 2.1), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, title, bad in zip(axes.flat, images, titles, wrong):
        pixels = np.clip(image, 0, 255).astype(np.uint8)
        ax.imshow(pixels[..., 0] if pixels.shape[-1] == 1 else pixels, cmap="gray")
        ax.set_title(title, fontsize=10, color="crimson" if bad else "black")
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
