"""The time_series_forecasting task: its task class, data loaders and the helpers only it uses."""
