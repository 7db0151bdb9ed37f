"""How the stages count, sample and view a task's examples (`Task.examples`).

The default suits data whose parts hold labelled examples (`SplitParts`): a part's size is its
length, and search trials train on a stratified sample. A task whose examples are something else
hands over a subclass: forecasting's are windows, text is seen through each family's tokenizer.
"""

from __future__ import annotations

import numpy as np


class Examples:
    """Args:
        task: the `Task` whose data these are.
    """

    def __init__(self, task):
        self.task = task

    def for_family(self, data, family, pretrained=None):
        """The data as one family sees it (text: encoded by its tokenizer); images as they are."""
        return data

    def count(self, data, part: str) -> int:
        """Examples in a part of the split."""
        return len(data.part(part))

    def sample(self, data, part: str, count: int, seed: int) -> np.ndarray:
        """Indices of a seeded, stratified sample of a part, for search trials."""
        from automl.data.split import stratified_sample

        return stratified_sample(data.part(part).labels, count, seed)


class UnlabelledExamples(Examples):
    """Examples with no class to stratify by (masks, say): a seeded random sample, in order."""

    def sample(self, data, part: str, count: int, seed: int) -> np.ndarray:
        size = len(data.part(part))
        return np.sort(np.random.default_rng(seed).choice(size, min(count, size), replace=False))
