"""What a task's models are trained for and judged by: one object instead of six task attributes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Goal:
    #: Keras metric the search and fine-tuning optimize, and its direction ("min" or "max").
    objective: str = "val_loss"
    direction: str = "min"
    #: Names under which the task's `metrics()` report in Keras logs (a test checks they agree).
    metric_names: tuple[str, ...] = ()
    #: The test metric users read first (a key of `evaluate`'s result), and which way is better.
    headline: str = "loss"
    higher_is_better: bool = True
    #: What `search.objective` may name; empty: the loss and each metric, on validation or
    #: training data (a GAN's losses say nothing of its images, so it names one).
    searchable: tuple[str, ...] = ()

    def search_objectives(self) -> list[str]:
        if self.searchable:
            return list(self.searchable)
        names = ("loss", *self.metric_names)
        return [f"val_{n}" for n in names] + list(names)

    def sign(self) -> int:
        """+1 when a lower objective is better, -1 when higher is: `sign * value` is minimized."""
        return 1 if self.direction == "min" else -1
