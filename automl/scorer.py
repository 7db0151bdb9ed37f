"""How a converted model is judged against the Keras model it came from: how close its outputs are
(`compare`), how much worse its headline metric is (`headline_drop`) and how much of that the test
split's sampling explains (`headline_noise`), the two the export gate weighs; and baselines that
beat the model (`baseline_warnings`).

`Scorer` suits classifiers and segmenters (argmax agreement, a drop in metric points); a task whose
outputs are judged otherwise hands over a subclass from `Task.scorer` (forecasts: errors in the
data's units; a generator: the Frechet distance's relative increase).
"""

from __future__ import annotations

from typing import Optional

import numpy as np


def argmax_agreement(reference, outputs) -> float:
    """Share of predictions (examples, or pixels) whose most probable class is the reference's."""
    return float(np.mean(np.asarray(reference).argmax(-1) == np.asarray(outputs).argmax(-1)))


class Scorer:
    """The default judge of converted models.

    Args:
        task: the `Task` whose `evaluate` and headline metric the gate reads.
    """

    #: Evaluation is one Keras pass over the test split, so timing one pass measures the reserve
    #: kept after fine-tuning (`pipeline._measured_reserve`).
    evaluation_is_one_pass = True

    def __init__(self, task):
        self.task = task

    def before_search(self, data, config, folder, fingerprint: str) -> Optional[dict]:
        """What scoring needs prepared once per run before the search (a GAN's feature network),
        kept in `folder` under `fingerprint`; what the report says of it, or None."""
        return None

    def compare(self, reference, outputs, data) -> dict:
        """How close a converted model's outputs are to the Keras model's (report keys: the row's
        `vs_keras`, shown as given by the report and the model card)."""
        return {"agreement": argmax_agreement(reference, outputs)}

    def headline_drop(self, keras_value: float, value: float) -> float:
        """How much worse a converted model's headline metric is than the Keras model's, in the
        units of `export.int8_accuracy_gate` (a share: accuracy points, IoU...)."""
        return (keras_value - value) * (1 if self.task.goal.higher_is_better else -1)

    def headline_noise(self, data, targets, reference, outputs) -> float:
        """Standard error of `headline_drop` from sampling the test examples (`verify.paired_noise`)."""
        from automl.verify import paired_noise

        return paired_noise(self.task, data, targets, reference, outputs)

    def baseline_warnings(self, test_metrics: dict, baselines: dict) -> list[str]:
        """One warning when a baseline beats the model on the headline metric."""
        key, sign = self.task.goal.headline, 1 if self.task.goal.higher_is_better else -1
        better = sorted((sign * -m[key], name) for name, m in baselines.items()
                        if sign * (m[key] - test_metrics[key]) > 0)
        if not better:
            return []
        named = ", ".join(f"{name} ({baselines[name][key]:.4f})" for _, name in better)
        return [f"the model's test {key} {test_metrics[key]:.4f} is worse than {named}: give the search more "
                f"trials or time, or use that baseline"]
