"""How much a gain measured on forecast windows is worth: in standard errors of the paired
per-window differences, with windows a horizon apart counted as independent (neighbouring
windows share all but one step)."""

from __future__ import annotations

import numpy as np

#: Standard errors a gain must pass to change what ships: on air passengers' 10 validation windows
#: the network's whole correction gained 0.76 of one (and lost on test); on CO2's 291, 1.2 (and
#: gained on test).
EVIDENCE = 1.0


def independent_windows(windows: int, horizon: int) -> float:
    return max(1.0, windows / horizon)


def gain_in_standard_errors(gain: np.ndarray, independent: float) -> float:
    """Mean of per-window gains over their standard error, with `independent` windows' worth of data."""
    if len(gain) < 2:
        return 0.0
    spread = float(gain.std(ddof=1)) / np.sqrt(independent)
    return float(gain.mean()) / spread if spread > 0 else (float("inf") if gain.mean() > 0 else 0.0)
