"""The pipeline config of time-series forecasting: its `data` section."""

from __future__ import annotations

from typing import ClassVar, Literal, Optional, Union

from pydantic import Field, field_validator

from automl.config.schema import Auto, DataConfig, PipelineConfig, check_encoding, not_negative_or_auto


class ForecastingData(DataConfig):
    asked_keys: ClassVar[tuple[str, ...]] = ("path", "time_column", "targets", "horizon")
    format: Literal["auto", "csv", "tsv"] = Field("auto", description="auto = from the file's suffix.")
    encoding: str = Field(
        "auto", description="Text encoding of the file (e.g. latin-1); auto = UTF-8, and a file that is not "
                            "is an error.")
    time_column: str = Field("auto", description="Time column; auto = one named time, timestamp, date, datetime or ds.")
    time_format: Optional[str] = Field(None, description="strftime format of the times; by default recognized.")
    id_column: str = Field(
        "auto", description="Many series in long format: the column naming each row's series (one global model "
                            "over all; lengths and start dates may differ); auto = a column named id, item_id, "
                            "unique_id, series, item, sku, symbol, store... whose values repeat; none = one series.")
    wide: bool = Field(
        False, description="Many series in wide format: every value column is a series of its own, forecast by "
                           "one global model (false: the columns are forecast together, as one multivariate series).")
    targets: Union[Auto, list[str]] = Field(
        "auto", description="Columns to forecast; auto = every column that is not the time or a covariate."
    )
    covariates: list[str] = Field(
        default_factory=list, description="Columns the model sees over the lookback but does not forecast."
    )
    calendar_features: list[Literal["hour_of_day", "day_of_week", "day_of_year", "month_of_year"]] = Field(
        default_factory=list, description="Calendar covariates made from the times (sine and cosine of each phase)."
    )
    horizon: Union[Auto, int] = Field("auto", description="Steps to forecast; auto = one season.")
    season: Union[Auto, int, list[int]] = Field(
        "auto", description="Seasonal period(s) in steps (seasonal baselines, lookbacks, MASE uses the shortest); "
                            "auto = the calendar cycles of the frequency (day, week, year) the data shows."
    )
    transform: Literal["auto", "none", "log"] = Field(
        "auto", description="What the model forecasts: the values (none), their logs (log: a season whose swing "
                            "grows with the level), or auto = logs when every value is positive and they forecast "
                            "the validation windows better (the choice is in the profile)."
    )
    backtests: Union[Auto, int] = Field(
        "auto", description="Rolling origins that decide, beside the validation windows, between the rule, the "
                                  "model and a blend of them: the kept trial trained again with each series' training "
                                  "part cut 1, 2... horizons earlier, judged on the horizon after the cut (each fold keeps at "
                                  "least half the training windows, and ends within a time_limit); auto = up to 5 "
                                  "in the time a time_limit leaves after fine-tuning, none without a time_limit.")
    missing: Literal["interpolate", "drop", "fail"] = Field(
        "interpolate", description="Missing steps or values: interpolate linearly, drop the windows "
                                   "that touch them, or fail."
    )

    _encoding = field_validator("encoding")(check_encoding)
    _backtests = field_validator("backtests")(not_negative_or_auto)

    @field_validator("horizon", "season")
    @classmethod
    def _positive(cls, value):
        values = value if isinstance(value, list) else [value]
        if value == [] or any(v != "auto" and v < 1 for v in values):
            raise ValueError(f"expected 'auto' or integers of at least 1. Received: {value!r}")
        return value


class ForecastingConfig(PipelineConfig):
    task: Literal["time_series_forecasting"]
    data: ForecastingData
