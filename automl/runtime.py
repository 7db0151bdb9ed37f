"""The `tf.distribute` strategy and precision policy, chosen from the hardware."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Runtime:
    strategy: object
    name: str
    devices: list[str]
    mixed_precision: str

    @property
    def distributed(self) -> bool:
        return not self.name.startswith("default")

    def to_report(self) -> dict:
        return {"strategy": self.name, "devices": self.devices,
                "precision_policy": self.mixed_precision}


def _tpu_strategy():
    import tensorflow as tf

    resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def refuse_multi_worker() -> None:
    """One line instead of a hang or a traceback when TF_CONFIG asks for multi-worker training.

    tf.distribute's MultiWorkerMirroredStrategy does not train Keras 3 models (two CPU workers on
    loopback fail at once converting a PerReplica value, and past that with tensorflow#72388's
    "Invalid reduction dimension"); tests/distributed/test_multi_worker.py pins that, so an
    upgrade that fixes it is noticed."""
    import os

    from automl.errors import ConfigError

    if os.environ.get("TF_CONFIG"):
        raise ConfigError(
            "TF_CONFIG is set, but automl does not train one model over several machines: "
            "MultiWorkerMirroredStrategy fails with Keras 3; unset TF_CONFIG to train on this machine's "
            "GPUs or TPU (runtime.strategy)")


def choose_runtime(config) -> Runtime:
    """Picks TPU, several GPUs, one GPU or CPU (or what runtime.strategy names)."""
    import tensorflow as tf

    from automl.errors import ConfigError
    from automl.precision import cpu_has_bf16_tiles, train_in
    from automl.tasks import get_task

    refuse_multi_worker()

    trainer = get_task(config.task).trainer
    wanted = config.runtime.strategy
    if wanted == "mirrored" and not trainer.data_parallel:
        raise ConfigError(f"runtime.strategy: mirrored: {config.task} trains with its own train_step, which "
                          f"Keras 3 cannot run under MirroredStrategy (keras#20164); use gpu or auto")
    if config.runtime.mixed_precision is True and not trainer.mixed_precision:
        raise ConfigError(f"runtime.mixed_precision: true: {config.task}'s own train_step applies gradients "
                          f"without loss scaling, which float16 needs; use auto or false")
    gpus = tf.config.list_logical_devices("GPU")
    if wanted == "tpu" or (wanted == "auto" and _tpu_visible()):
        strategy, name = _tpu_strategy(), "TPUStrategy"
    elif wanted == "mirrored" or (wanted == "auto" and len(gpus) > 1 and trainer.data_parallel):
        strategy, name = mirrored_strategy(), "MirroredStrategy"
    elif wanted == "gpu" or (wanted == "auto" and gpus):
        if not gpus:
            raise RuntimeError("runtime.strategy is 'gpu' but TensorFlow sees no GPU")
        # One device needs no distribution; the default strategy places ops on the GPU.
        strategy, name = tf.distribute.get_strategy(), "default (one GPU)"
    else:
        # OneDeviceStrategy("/cpu:0") costs about twice the step time of the
        # default strategy on CPU, for nothing.
        strategy, name = tf.distribute.get_strategy(), "default (CPU)"

    if name == "default (CPU)":
        # The same seed and data give the same model on CPU, where deterministic kernels cost
        # little; on GPUs and TPUs speed wins.
        tf.config.experimental.enable_op_determinism()
    policy = "float32"
    mixed = config.runtime.mixed_precision
    on_cpu = name == "default (CPU)"
    # Mixed precision pays off on GPUs with tensor cores and on TPUs; on a CPU, only with AMX
    # bfloat16 tiles, and for the tasks measured to gain (Trainer.bfloat16_on_cpu).
    if mixed is True or (mixed == "auto" and trainer.mixed_precision
                         and (not on_cpu or (trainer.bfloat16_on_cpu and cpu_has_bf16_tiles()))):
        # float16 needs loss scaling and has no fast CPU kernels; bfloat16 needs neither.
        policy = "mixed_bfloat16" if name == "TPUStrategy" or on_cpu else "mixed_float16"
    train_in(policy)
    devices = [d.name for d in tf.config.list_logical_devices() if d.device_type != "CPU"] or ["CPU"]
    return Runtime(strategy, name, devices, policy)


def mirrored_strategy():
    """MirroredStrategy over this host's GPUs; without GPUs, over its logical CPU devices when there
    are several (`tf.config.set_logical_device_configuration`: how a test splits one CPU in two)."""
    import tensorflow as tf

    if tf.config.list_logical_devices("GPU"):
        return tf.distribute.MirroredStrategy()
    cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
    return tf.distribute.MirroredStrategy(cpus if len(cpus) > 1 else None)


def _tpu_visible() -> bool:
    import os

    return bool(os.environ.get("TPU_NAME") or os.environ.get("COLAB_TPU_ADDR"))
