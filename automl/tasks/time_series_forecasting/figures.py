"""The forecasting report's figures (base64 PNGs)."""

from __future__ import annotations

import numpy as np

from automl.report.figures import pyplot, to_png


def forecast_plot(times, actual, all_times, origins, forecasts, names: list[str], shown: int = 6) -> str:
    """The test part's actuals with forecasts from a few origins spread over it."""
    plt = pyplot()
    targets = actual.shape[1]
    fig, axes = plt.subplots(targets, 1, figsize=(11, 3.2 * targets), squeeze=False)
    picked = np.unique(np.linspace(0, len(origins) - 1, min(shown, len(origins))).astype(int))
    horizon = forecasts.shape[1]
    for j, ax in enumerate(axes[:, 0]):
        ax.plot(times, actual[:, j], color="black", linewidth=1, label="actual")
        for n, i in enumerate(picked):
            steps = all_times[origins[i]:origins[i] + horizon]
            ax.plot(steps, forecasts[i, :, j], color="tab:orange", linewidth=1.5,
                    label="forecast" if n == 0 else None)
        ax.set_title(names[j])
        ax.legend()
    fig.autofmt_xdate()
    return to_png(fig)


def error_by_step(curves: dict) -> str:
    """Mean absolute error at each horizon step, one line per forecaster."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.5))
    for name, values in curves.items():
        ax.plot(np.arange(1, len(values) + 1), values, label=name, linewidth=2 if name == "model" else 1)
    ax.set_xlabel("steps ahead")
    ax.set_ylabel("MAE")
    ax.legend()
    return to_png(fig)
