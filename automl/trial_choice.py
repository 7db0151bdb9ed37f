"""Choosing among finished search trials: the best within the noise of validation (the smaller
or known-good model on a tie), trials compared at matched training time, and the second choice
fine-tuning may try."""

from __future__ import annotations

from typing import Optional

import numpy as np


#: Without a sampling model of the objective (errors such as val_mae), scores this close
#: (relative) to the best count as tied.
RELATIVE_TIE = 0.01


def tie_band(best: float, direction: str, val_examples: int) -> float:
    """How far from the best a validation score may be and still tie with it: one standard
    error of a proportion (accuracy, IoU) on the validation examples, else RELATIVE_TIE."""
    if direction == "max" and 0.0 <= best <= 1.0 and val_examples > 0:
        return float(np.sqrt(max(best * (1 - best), 1.0 / val_examples) / val_examples))
    return RELATIVE_TIE * abs(best)


def parsimonious_best(done: list[dict], direction: str, val_examples: int) -> tuple[dict, str | None]:
    """The best trial, or when others tie with it within the noise of validation, a known-good
    one, then the one with the fewest parameters, and a note saying so.

    Known-good goes first because it is the only evidence about the long run: trials train a
    few epochs on part of the data, fine-tuning many times longer on all of it, where more
    capacity pays (full Fashion-MNIST: a 114k-parameter random trial tied the 309k-parameter
    known-good one, 0.873 to 0.878, and fine-tuned for 23 minutes to 0.934 test accuracy).

    Rows compare on "compared" when present (see `compare_at_matched_time`), else "objective";
    of equal scores, the higher rung (the further trained checkpoint of a chain) goes first.
    """
    sign = -1 if direction == "max" else 1
    best = min(done, key=lambda r: (sign * _compared(r), -r.get("rung", 0)))
    band = tie_band(_compared(best), direction, val_examples)
    tied = [r for r in done if sign * (_compared(r) - _compared(best)) <= band]
    chosen = min(tied, key=lambda r: (not r.get("known_good"), r.get("params") or float("inf"),
                                      sign * _compared(r), -r.get("rung", 0)))
    if chosen is best:
        return best, None
    if chosen.get("known_good") and not best.get("known_good"):
        why = f"({_compared(chosen):.4f})", f"({_compared(best):.4f})", "the known-good configuration is kept"
    else:
        why = f"({chosen['params']:,} parameters, {_compared(chosen):.4f})", f"({best['params']:,} parameters, " \
              f"{_compared(best):.4f})", "the smaller model is kept"
    return chosen, (f"{chosen['trial_id']} {why[0]} ties {best['trial_id']} {why[1]} within the validation "
                    f"noise (±{band:.4f}): {why[2]}")


def _compared(row: dict) -> float:
    return row["compared"] if row.get("compared") is not None else row["objective"]


def compare_at_matched_time(done: list[dict], direction: str) -> Optional[float]:
    """Score trials at equal training time: each row's "compared" is the best its promotion
    chain reached within the seconds the second-longest chain of the highest rung trained.
    Returns those seconds, or None when no trial trained past them.

    Fine-tuning gets a time limit, not a count of epochs, so time is the budget trials are
    matched on. Trials end by time and the last takes what the search has left; and a small
    batch takes more steps per epoch, which wins a short trial but costs epochs later. An
    epoch's seconds are the chain's mean (seconds per epoch of each of its trials).
    Rows need "trial_id", "continues", "seconds", "rung" and "history" (the objective after
    each of the trial's own epochs; a chain's epochs are its trials' in order).
    """
    sign = -1 if direction == "max" else 1
    by_id = {r["trial_id"]: r for r in done}

    def chain(row):
        while row is not None:
            yield row
            row = by_id.get(row.get("continues"))

    scored = {}  # id(row) -> (the chain's objective per epoch, seconds per epoch)
    for r in done:
        links = list(chain(r))[::-1]  # the first trial of the chain first
        if all(link.get("history") and link.get("seconds") for link in links):
            scored[id(r)] = ([v for link in links for v in link["history"]],
                             float(np.mean([link["seconds"] / len(link["history"]) for link in links])))
    top = max(r["rung"] for r in done)
    spent = sorted((len(scored[id(r)][0]) * scored[id(r)][1] for r in done if r["rung"] == top and id(r) in scored),
                   reverse=True)
    if len(spent) < 2:
        return None
    cap, matched = spent[1], None
    for r in done:
        if id(r) not in scored or len(scored[id(r)][0]) * scored[id(r)][1] <= cap:
            continue
        scores, seconds = scored[id(r)]
        within = [v for epoch, v in enumerate(scores, start=1)
                  if epoch * seconds <= cap * 1.001 and v is not None and np.isfinite(v)]
        if within:
            r["compared"] = min(within, key=lambda v: sign * v)
            matched = cap
    return matched


def second_choice(done: list[dict], best_row: dict, ranked_families: list[str], direction: str,
                  runner_up: bool = False) -> Optional[dict]:
    """The search's verdict on a family is only as good as the training its trials got: a
    pretrained encoder after 60 steps scores below a bag of words after 14 epochs and would
    pass it with more. This returns the best trial of the highest-ranked family (by the
    selector's score) ranked above the best trial's family whose best trial was still
    improving at its last epoch (`_reason`: "still improving"). Else, with `runner_up` (time
    left to spend), the best trial of another family, or the next best trial of the best's
    family when it is the only one (`_reason`: "runner-up"); else None."""
    rank = {family: i for i, family in enumerate(ranked_families)}
    sign = -1 if direction == "max" else 1
    best_of: dict[str, dict] = {}
    for row in done:
        family = row["family"]
        if family == best_row["family"] or rank.get(family, len(rank)) >= rank.get(best_row["family"], len(rank)):
            continue
        if family not in best_of or sign * (row["objective"] - best_of[family]["objective"]) < 0:
            best_of[family] = row
    improving = []
    for family, row in best_of.items():
        history = [sign * v if v is not None else float("inf") for v in row.get("history") or []]
        if history and row.get("seconds") and min(history) == history[-1]:
            improving.append(row)
    chosen = min(improving, key=lambda r: rank[r["family"]], default=None)
    reason = "still improving"
    if chosen is None and runner_up:
        others = [r for r in done if r is not best_row and r.get("seconds") and r.get("history")]
        other_families = [r for r in others if r["family"] != best_row["family"]]
        chosen = min(other_families or others, key=lambda r: sign * r["objective"], default=None)
        reason = "runner-up"
    if chosen is not None:
        chosen["_epoch_seconds"] = chosen["seconds"] / len(chosen["history"])
        chosen["_reason"] = reason
    return chosen


def epoch_objectives(results, objective: str) -> Optional[list]:
    """The objective after each epoch of a trial, from what `run_trial` returned (KerasTuner
    keeps only a trial's best epoch); None when the results do not say."""
    first = results[0] if isinstance(results, list) and results else results
    values = getattr(first, "history", {}).get(objective)
    if values is None:
        return None
    return [float(v) if v is not None and np.isfinite(v) else None for v in values]


def objective_by_time(trials: list[dict], direction: str | None) -> list[list[float]]:
    """[[search seconds at the end of a trial, best objective so far], ...] in the order trials ran."""
    sign = -1 if direction == "max" else 1
    points, elapsed, best = [], 0.0, None
    for trial in trials:
        elapsed += trial.get("seconds") or 0.0
        value = trial.get("objective")
        if value is not None and (best is None or sign * (value - best) < 0):
            best = value
        if best is not None:
            points.append([round(elapsed, 1), best])
    return points
