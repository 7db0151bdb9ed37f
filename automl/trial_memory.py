"""What a finished search trial leaves in the process: released before the next trial, and the
resident memory measured after it."""

from __future__ import annotations

from pathlib import Path
from typing import Optional


def release_memory(keep_gradients: Optional[set] = None) -> None:
    """Frees what a finished trial held (its models and graphs) before its memory is measured.

    Every trace of a training step registers a `tf.custom_gradient` (the optimizer's all-reduce
    of the gradients, even on one device) in TensorFlow's global gradient table, which never lets
    go of it; the entry holds the traced graph and through it the trial's variables: about 25 MB
    per quickstart trial (tensorflow#97697, keras#20245). The entries the trial added, those not
    in `keep_gradients`, go: the trial's step is traced and done with. (glibc's malloc_trim on
    top changed nothing measurable.)

    What still grows is TensorFlow's cache of oneDNN kernels, kept per layer shape seen, which
    no API clears: over 40 quickstart trials 1.09 times trial 5's memory at trial 20 and 1.58 at
    trial 40 (after a large MobileNet trial); with TF_ENABLE_ONEDNN_OPTS=0, 0.99 and 1.01, but
    CPU epochs take about twice as long (README, "Memory over a long search")."""
    import gc

    import keras

    keras.backend.clear_session()
    if keep_gradients is not None:
        registry = _gradient_registry()
        for name in [name for name in registry if name.startswith("CustomGradient-") and name not in keep_gradients]:
            del registry[name]
    gc.collect()


def custom_gradient_names() -> set:
    """The names in TensorFlow's global gradient table now (see `release_memory`)."""
    return set(_gradient_registry())


def _gradient_registry() -> dict:
    """TensorFlow's table of gradient functions by name; private, so an empty dict (nothing is
    released, nothing breaks) if a TensorFlow version moves it."""
    from tensorflow.python.framework import ops

    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    return registry if isinstance(registry, dict) else {}


def resident_mb() -> Optional[float]:
    """This process's resident memory in MB (None where /proc is not there)."""
    import os

    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 1e6, 1)
