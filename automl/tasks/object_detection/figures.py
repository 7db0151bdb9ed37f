"""The detection report's figures (base64 PNGs): boxes on test images, the precision-recall curve."""

from __future__ import annotations

import numpy as np

from automl.report.figures import pyplot, to_png

#: Detections drawn: those an app would show.
DRAWN_SCORE = 0.3


def boxes_on_images(images, targets, outputs, names: list[str], count: int = 8) -> str:
    """The first test images with their true boxes (green) and detections scoring at least DRAWN_SCORE
    (orange, labelled with class and score)."""
    plt = pyplot()
    from matplotlib.patches import Rectangle

    count = min(count, len(images))
    columns = min(4, count)
    rows = -(-count // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3 * columns, 3 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for i in range(count):
        ax, size = axes.ravel()[i], images.shape[1]
        ax.imshow(np.clip(images[i] / 255.0, 0, 1))
        for box, klass in zip(targets[i, :, :4], targets[i, :, 4]):
            if klass >= 0:
                y0, x0, y1, x1 = box * size
                ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor="lime", linewidth=1.5))
        for d in range(int(outputs["num_detections"][i])):
            score = float(outputs["detection_scores"][i, d])
            if score < DRAWN_SCORE:
                continue
            y0, x0, y1, x1 = outputs["detection_boxes"][i, d] * size
            klass = int(outputs["detection_classes"][i, d])
            ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor="orange", linewidth=1.2,
                                   linestyle="--"))
            ax.text(x0, y0, f"{names[klass]} {score:.2f}", fontsize=9, color="black",
                    bbox={"facecolor": "orange", "alpha": 0.7, "pad": 0.5, "linewidth": 0})
    fig.tight_layout()
    return to_png(fig)


def pr_curve(curve: dict) -> str:
    """Precision against recall at IoU 0.5, averaged over the classes (COCO's 101 recall points)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(4.5, 3.5))
    ax.plot(curve["recall"], curve["precision"], color="tab:blue")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return to_png(fig)
