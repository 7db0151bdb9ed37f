"""A detector trains as the default `Trainer` does, in bfloat16 on CPUs with AMX tiles."""

from __future__ import annotations

from automl.trainer import Trainer


class DetectionTrainer(Trainer):
    #: Measured on the Fashion-MNIST scenes (RetinaNet, 128 px, batch 32, 2 cores with AMX): a
    #: training step 0.34 s in float32, 0.25 s in mixed bfloat16.
    bfloat16_on_cpu = True
