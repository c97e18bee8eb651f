"""Forecast a real (or generated, or uploaded) time series `horizon` steps ahead from a window of `length` values.

Options (RunConfig.task_options): `series` (a bundled series: airline, sunspots, co2, sine) or `dataset` (the key of
an uploaded series in lstm_viz.data.datastore), and `horizon`. The training batches are windows drawn at random from the
training part; the test set is every origin of the held-out tail; the probe (gradient flow, traced examples) comes
from the validation part. The model reads the standardised series (scaler fitted on the training part) as changes
from the window's last value, and outputs the change of each of the next `horizon` values from it, all at once (a direct multi-step
forecast). The metric is the MSE of those changes on the standardised scale; the baseline is the naive forecast
(repeat the last value, i.e. predict no change), computed on the same test windows.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

from lstm_viz.data import datastore
from lstm_viz.rules.errors import ConfigError
from lstm_viz.data.series import (
    MAX_EVAL_WINDOWS, MIN_WINDOW, SERIES_NAMES, Scaler, Series, evenly_spaced, load_series, origins,
    seasonal_naive_forecast, series_from_upload, windows,
)
from lstm_viz.core.tasks.base import Split, Task

DEFAULT_SERIES = "airline"
OPTION_NAMES = ("dataset", "horizon", "series")


class ForecastTask(Task):
    name = "forecast"
    label = "Forecast a time series"
    input_size = 1
    readout = "last"
    metric_name = "MSE"
    metric_unit = "squared error on the standardised series"
    min_length = MIN_WINDOW
    description = (
        "Read a window of a real time series (airline passengers, sunspots, CO₂, or your own) and forecast the "
        "next values; compared with repeating the last value."
    )
    baseline_name = "naive forecast"
    baseline_description = "naive forecast: repeat the window's last value (computed on the test part)"
    option_names = OPTION_NAMES

    def __init__(self, series: Series, horizon: int, options: dict):
        self.series = series
        self.horizon = int(horizon)
        self.options = dict(options)
        self.output_size = self.horizon
        self.default_length = min(series.default_window, max(MIN_WINDOW, series.max_window(self.horizon)))
        self.max_length = max(MIN_WINDOW, series.max_window(self.horizon))
        self.scaler = Scaler.fit(series)
        self.scaled = self.scaler.transform(series.values)
        if series.period:
            self.solved_description = f"beats the seasonal-naive forecast (period {series.period})"
        else:
            self.solved_description = "half the naive forecast's MSE"

    def solved_phrase(self, length: int) -> str:
        # "solved T=24" means nothing for a forecast; say which bar the forecaster cleared.
        return self.solved_description.replace("beats", "beat").replace("half the", "halved the")

    # ----- options -----
    def with_options(self, **options) -> "ForecastTask":
        unknown = set(options) - set(OPTION_NAMES)
        if unknown:
            raise ConfigError(f"the forecast task takes the options {', '.join(OPTION_NAMES)} (got {', '.join(sorted(unknown))})")
        if "series" in options and "dataset" in options:
            raise ConfigError("give the forecast task either a bundled series or an uploaded dataset, not both")
        if not options:
            return self
        horizon = options.get("horizon")
        try:
            horizon = None if horizon is None else int(horizon)
        except (TypeError, ValueError):
            raise ConfigError(f"the horizon must be a whole number of steps (got {horizon!r})") from None
        if options.get("dataset"):
            # Before the cache: a task built for the uploader must not reach a session that may not open its data.
            datastore.get(str(options["dataset"]), "series")
        return configured_forecast_task(options.get("series"), options.get("dataset"), horizon)

    # ----- data -----
    def _check(self, length: int) -> None:
        self.series.check(length, self.horizon)

    def origins_for(self, split: str, length: int, count: int | None = None) -> np.ndarray:
        """The forecast origins a split uses: every test origin (evenly thinned to MAX_EVAL_WINDOWS), `count`
        evenly spaced validation origins for the probe."""
        self._check(length)
        if split == "test":
            return evenly_spaced(origins(self.series, "test", length, self.horizon), MAX_EVAL_WINDOWS)
        if split in ("probe", "val"):
            candidates = origins(self.series, "val", length, self.horizon)
            return candidates if count is None else evenly_spaced(candidates, count)
        return origins(self.series, "train", length, self.horizon)

    def generate(self, count: int, length: int, generator: torch.Generator, split: Split = "train") -> tuple[Tensor, Tensor]:
        """Train: `count` windows drawn with replacement from the training part. Test: every test origin, whatever
        `count` (the baseline is computed on exactly these). Probe: up to `count` evenly spaced validation origins."""
        if split == "train":
            candidates = self.origins_for("train", length)
            picks = torch.randint(0, len(candidates), (count,), generator=generator).numpy()
            chosen = candidates[picks]
        else:
            chosen = self.origins_for(split, length, count)
        inputs, targets = windows(self.scaled, chosen, length, self.horizon)
        return (torch.from_numpy(inputs[..., None].astype(np.float32)),  # (n, length, 1)
                torch.from_numpy(targets.astype(np.float32)))  # (n, horizon)

    def per_example_loss(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return ((outputs - targets) ** 2).mean(dim=-1)

    @lru_cache(maxsize=64)
    def baseline(self, length: int) -> float:
        """MSE of the naive forecast (no change) on the test windows: the mean squared target."""
        _, targets = windows(self.scaled, self.origins_for("test", length), length, self.horizon)
        return float(np.mean(targets**2))

    @lru_cache(maxsize=64)
    def seasonal_naive_mse(self, length: int) -> float | None:
        period = self.series.period
        if not period:
            return None
        at = self.origins_for("test", length)
        _, targets = windows(self.scaled, at, length, self.horizon)
        forecast = seasonal_naive_forecast(self.scaled, at, self.horizon, period) - self.scaled[at - 1][:, None]
        return float(np.mean((forecast - targets) ** 2))

    def solved_threshold(self, length: int) -> float:
        seasonal = self.seasonal_naive_mse(length)
        return seasonal if seasonal is not None else 0.5 * self.baseline(length)

    # ----- what the pages show -----
    def input_channels(self, inputs: np.ndarray) -> dict[str, np.ndarray]:
        return {"value − last value (standardised)": inputs[:, 0]}

    def describe_example(self, inputs: np.ndarray, target: np.ndarray) -> str:
        """In the series' units: the model sees changes from the window's last value, not the level."""
        change = np.asarray(target, dtype=np.float64) * self.scaler.std
        if self.series.log:
            shown = [f"{np.expm1(value):+.0%}" for value in change]
            what = "relative to the last value"
        else:
            shown = [f"{value:+.3g}" for value in change]
            what = f"in {self.series.unit}, from the last value"
        more = " …" if len(shown) > 6 else ""
        return (f"From the {len(inputs)} values before, forecast the next {self.horizon} ({what}): "
                f"{', '.join(shown[:6])}{more}.")

    def features(self, inputs: np.ndarray) -> dict[str, np.ndarray]:
        values = inputs[:, 0].astype(np.float64)
        steps = np.arange(1, len(values) + 1)
        change = np.diff(values, prepend=values[0])
        features = {
            "value": values,
            "change from the previous step": change,
            "trend (running mean of the change)": np.cumsum(change) / steps,
            "level (running mean)": np.cumsum(values) / steps,
        }
        period = self.series.period
        if period and period < len(values):
            features["change over one season"] = np.concatenate([np.zeros(period), values[period:] - values[:-period]])
        return features


@lru_cache(maxsize=32)
def configured_forecast_task(series_name: str | None, dataset_key: str | None, horizon: int | None) -> ForecastTask:
    if dataset_key is not None:
        if not dataset_key:
            raise ConfigError("upload a CSV time series first, or pick one of the bundled series")
        dataset = datastore.get(str(dataset_key), "series")
        series = series_from_upload(dataset.name, dataset.content["values"], dataset.content.get("times"))
    else:
        name = series_name or DEFAULT_SERIES
        if name not in SERIES_NAMES:
            raise ConfigError(f"unknown series {name!r}; known: {', '.join(SERIES_NAMES)}")
        series = load_series(name)
    horizon = series.default_horizon if horizon is None else horizon
    if not 1 <= horizon <= series.max_horizon():
        raise ConfigError(f"{series.label}: the horizon must be between 1 and {series.max_horizon()} steps (got {horizon})")
    options = {"series": series_name} if dataset_key is None else {"dataset": dataset_key}
    return ForecastTask(series, horizon, {**options, "horizon": horizon})


FORECAST = configured_forecast_task(DEFAULT_SERIES, None, None)
