"""One seeded, stratified train/val/test split of example indices."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SplitIndices:
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def sizes(self) -> dict:
        return {"train": int(len(self.train)), "val": int(len(self.val)), "test": int(len(self.test))}


class SplitParts:
    """For data sets with train/val/test attributes: their sizes, and one by name."""

    def split_sizes(self) -> dict:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}

    def part(self, name: str):
        if name not in ("train", "val", "test"):
            raise ValueError(f"Unknown split. Received: name={name!r}; expected train, val or test")
        return getattr(self, name)


def stratified_split(labels: np.ndarray, val: float, test: float, seed: int) -> SplitIndices:
    """Splits each class in the same proportions, so rare classes reach every part.

    A class with too few examples for all three parts keeps its first
    examples for train, then val, then test.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    parts: dict[str, list] = {"train": [], "val": [], "test": []}
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        rng.shuffle(idx)
        n = len(idx)
        n_test = int(round(n * test))
        n_val = int(round(n * val))
        if n >= 3:  # every part sees every class, when the class allows it
            n_test = max(n_test, 1) if test > 0 else 0
            n_val = max(n_val, 1) if val > 0 else 0
        n_test = min(n_test, max(n - 1, 0))
        n_val = min(n_val, max(n - n_test - 1, 0))
        parts["test"].append(idx[:n_test])
        parts["val"].append(idx[n_test:n_test + n_val])
        parts["train"].append(idx[n_test + n_val:])
    out = {}
    for name, chunks in parts.items():
        joined = np.concatenate(chunks) if chunks else np.array([], dtype=int)
        rng.shuffle(joined)
        out[name] = joined.astype(np.int64)
    return SplitIndices(**out)


def stratified_sample(labels: np.ndarray, size: int, seed: int) -> np.ndarray:
    """A seeded sample of `size` indices that keeps class proportions."""
    labels = np.asarray(labels)
    if size >= len(labels):
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    picked = []
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        take = max(1, int(round(len(idx) * size / len(labels))))
        picked.append(rng.choice(idx, size=min(take, len(idx)), replace=False))
    return np.sort(np.concatenate(picked))
