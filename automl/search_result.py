"""The search's saved outcome (search/result.json beside the best and second trials' weights): a
finished search is read back from it instead of searching again."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import keras_tuner

from automl.trial_choice import objective_by_time


RESULT, BEST_WEIGHTS, SECOND_WEIGHTS = "result.json", "best.weights.h5", "second.weights.h5"


@dataclass
class SearchResult:
    """The search's outcome; `best["_hp"]` holds the best trial's HyperParameters and
    `best_weights` its trained weights (None when they could not be reloaded)."""

    trials: list[dict]
    best: dict
    best_weights: Optional[Path]
    stopped_by_time_limit: bool
    seconds: float
    train_examples: int
    notes: list[str] = field(default_factory=list)
    #: The best trial of a higher-ranked family that was still improving when its time ended
    #: (`second_choice`), which fine-tuning may try with the time the best one leaves; its
    #: `epoch_seconds` estimates one epoch on all training examples.
    second: Optional[dict] = None
    second_weights: Optional[Path] = None

    def to_report(self) -> dict:
        return {
            "trials": self.trials,
            "objective_by_time": objective_by_time(self.trials, self.best.get("objective", {}).get("direction")),
            "stopped_by_time_limit": self.stopped_by_time_limit,
            "seconds": round(self.seconds, 1),
            "train_examples_per_trial": self.train_examples,
            "notes": self.notes,
            **({"second": public_fields(self.second)} if self.second else {}),
        }

    def save(self, folder: Path, settings: str) -> None:
        from automl.run_dir import write_json

        second = {"second_hyperparameters": self.second["_hp"].get_config()} if self.second else {}
        write_json(folder / RESULT, {"settings": settings, "search": self.to_report(), "best": public_fields(self.best),
                                     "hyperparameters": self.best["_hp"].get_config(), **second})

    @classmethod
    def load(cls, folder: Path, settings: str) -> Optional["SearchResult"]:
        """The result a finished search saved with the same settings, or None."""
        path = folder / RESULT
        if not path.exists():
            return None
        saved = json.loads(path.read_text())
        if saved.get("settings") != settings:
            return None
        report = saved["search"]
        best = {**saved["best"], "_hp": keras_tuner.HyperParameters.from_config(saved["hyperparameters"])}
        weights = folder / BEST_WEIGHTS
        second, second_weights = report.get("second"), folder / SECOND_WEIGHTS
        if second:
            second = {**second, "_hp": keras_tuner.HyperParameters.from_config(saved["second_hyperparameters"])}
        return cls(report["trials"], best, weights if weights.exists() else None, report["stopped_by_time_limit"],
                   report["seconds"], report["train_examples_per_trial"], report["notes"], second,
                   second_weights if second and second_weights.exists() else None)


def public_fields(chosen: dict) -> dict:
    return {k: v for k, v in chosen.items() if not k.startswith("_")}
