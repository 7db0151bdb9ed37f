"""automl: a low-code AutoML pipeline on Keras 3 that ends in verified TFLite models.

`import automl` is light: TensorFlow loads only when a run starts.
"""

__version__ = "0.1.0"


def fit(data, /, task, **overrides):
    """Runs the whole pipeline; see `automl.api.fit`."""
    from automl.api import fit as _fit

    return _fit(data, task, **overrides)


def load(run_dir, verbose=1):
    """A finished run reopened from its directory; see `automl.api.load`."""
    from automl.api import load as _load

    return _load(run_dir, verbose=verbose)


__all__ = ["fit", "load", "__version__"]
