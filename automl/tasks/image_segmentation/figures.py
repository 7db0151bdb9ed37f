"""The segmentation report's figures (base64 PNGs)."""

from __future__ import annotations

import numpy as np

from automl.report.figures import pyplot, to_png


def _display(image: np.ndarray, intensity_range) -> np.ndarray:
    """Pixels scaled to 0..1 over the data's intensity range, grey as (H, W)."""
    low, high = intensity_range
    pixels = np.clip((image - low) / max(high - low, 1e-6), 0, 1)
    return pixels[..., 0] if pixels.shape[-1] == 1 else pixels


def mask_overlays(images, true_masks, predicted_masks, names: list[str], intensity_range) -> str:
    """One row per example: the image, the true mask over it, the predicted mask over it.

    The third column's title gives the share of wrongly classed pixels.
    """
    plt = pyplot()
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
            ax.set_title(title, fontsize=10)
            ax.axis("off")
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours[i], alpha=0.6) for i in range(1, len(names))]
    if handles:
        fig.legend(handles, names[1:], loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=min(6, len(handles)),
                   fontsize=10)
    return to_png(fig)


def regions_overlay(image, predicted_mask, regions: dict, names: list[str], intensity_range) -> str:
    """A whole image with the split's regions outlined, beside a predicted mask placed back in it.

    `predicted_mask` is -1 where nothing was predicted (outside the test regions).
    """
    plt = pyplot()
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
            axes[0].text(box.left + 3, box.top + 12, part, color=colours[part], fontsize=10)
    return to_png(fig)
