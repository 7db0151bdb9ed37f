"""Time-series forecasting pieces: windows, metrics, baselines and model layers."""
