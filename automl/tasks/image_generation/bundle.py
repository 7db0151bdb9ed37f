"""`automl predict` for a generator: samples from the bundle on LiteRT, as one grid image.

Numpy, Pillow and LiteRT only (no TensorFlow): the latent vectors are drawn as
`metadata.json` says, the outputs mapped to pixels as it says.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from automl.bundle_reader import BundleReader
from automl.errors import DataError
from automl.tasks.image_generation.sampling import latent_inputs, tile, unit_to_pixels


def sample_grid(model_path: Path, metadata: dict, count: int, seed: int, class_names: Sequence[str],
                out: Path) -> dict:
    """Writes `count` samples as a grid PNG at `out`; class names (conditional generators) pick the
    classes the samples ask for, in turn; without them a conditional generator draws every class in
    turn, one class per column (a random draw of 64 could leave a class out of the grid)."""
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
    wanted = [labels.index(name) for name in class_names] if class_names else list(range(len(labels)))
    requested = np.resize(wanted, count) if labels else None
    x = latent_inputs(count, inputs["latent"]["shape"][1], len(labels), seed, requested)
    pixels = unit_to_pixels(LiteRTModel(model_path).predict(x))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    columns = len(labels) if labels and not class_names and count >= len(labels) else None
    Image.fromarray(tile(pixels, columns)).save(out)
    row = {"grid": str(out), "samples": count, "seed": seed, "model": model_path.name}
    if labels:
        ids = x["class_id"][:, 0]
        row["classes"] = {labels[i]: int(n) for i, n in enumerate(np.bincount(ids, minlength=len(labels))) if n}
    return row


class SampleReader(BundleReader):
    """`automl predict` on a generator's bundle: one grid of samples, for the class names given."""

    def arguments(self, parser) -> None:
        parser.add_argument("--samples", type=int, default=64, help="how many samples (default 64)")
        parser.add_argument("--seed", type=int, default=0, help="seed of the latent vectors")
        parser.add_argument("--out", help="the grid PNG (default OUT_DIR/samples.png)")

    def rows(self, export_dir, metadata, model_path, inputs, options):
        out = options.get("out") or options["out_dir"] / "samples.png"
        return [sample_grid(model_path, metadata, options.get("samples") or 64, options.get("seed") or 0,
                            list(inputs), Path(out))]

    def show(self, row):
        classes = f"\t{row['classes']}" if "classes" in row else ""
        return f"{row['grid']}\t{row['samples']} samples from {row['model']} (seed {row['seed']}){classes}"
