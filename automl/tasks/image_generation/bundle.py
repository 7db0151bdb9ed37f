"""`automl predict` for a generator: samples from the bundle on LiteRT, as one grid image.

Numpy, Pillow and LiteRT only (no TensorFlow): the latent vectors are drawn as
`metadata.json` says, the outputs mapped to pixels as it says.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from automl.errors import DataError
from automl.tasks.image_generation.sampling import latent_inputs, tile, unit_to_pixels


def sample_grid(model_path: Path, metadata: dict, count: int, seed: int, class_names: Sequence[str],
                out: Path) -> dict:
    """Writes `count` samples as a grid PNG at `out`; class names (conditional generators) pick the
    classes the samples ask for, in turn; without them classes are drawn uniformly."""
    from PIL import Image

    from automl.verify import LiteRTModel

    inputs = metadata["inputs"]
    labels = inputs.get("class_id", {}).get("labels", [])
    if class_names and not labels:
        raise DataError(f"{model_path.name}: the generator takes no class; received class names "
                        f"{list(class_names)[:5]}")
    unknown = [name for name in class_names if name not in labels]
    if unknown:
        raise DataError(f"unknown class name(s) {unknown[:5]}; the generator knows {labels}")
    requested = (np.resize([labels.index(name) for name in class_names], count) if class_names else None)
    x = latent_inputs(count, inputs["latent"]["shape"][1], len(labels), seed, requested)
    pixels = unit_to_pixels(LiteRTModel(model_path).predict(x))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(tile(pixels)).save(out)
    row = {"grid": str(out), "samples": count, "seed": seed, "model": model_path.name}
    if labels:
        ids = x["class_id"][:, 0]
        row["classes"] = {labels[i]: int(n) for i, n in enumerate(np.bincount(ids, minlength=len(labels))) if n}
    return row
