"""Multi-step forecasts of a trained forecaster on the held-out tail, beside the naive and seasonal-naive baselines,
in the series' own units: what the "Forecast and anomalies" page shows, computable from a script."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lstm_viz.core.model import SequenceModel
from lstm_viz.data.series import mae, naive_forecast, origins, rmse, seasonal_naive_forecast, truth
from lstm_viz.core.tasks.forecast import ForecastTask


def scaled_inputs(task: ForecastTask, values: np.ndarray, at: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """(inputs (n, length, 1) as the model sees them, last scaled value (n,)) for forecasts from origins `at` of
    `values` (the task's series, or the same series with anomalies injected), scaled with the task's scaler."""
    scaled = task.scaler.transform(values)
    at = np.asarray(at, dtype=np.int64)
    window = scaled[at[:, None] + np.arange(-length, 0)[None, :]]
    last = window[:, -1]
    return (window - last[:, None])[..., None].astype(np.float32), last


@torch.no_grad()
def model_forecast(model: SequenceModel, task: ForecastTask, values: np.ndarray, at: np.ndarray, length: int) -> np.ndarray:
    """(n, horizon) forecasts in the series' units from origins `at` (each uses the `length` values before it)."""
    if len(at) == 0:
        return np.zeros((0, task.horizon))
    inputs, last = scaled_inputs(task, values, at, length)
    model.eval()
    change = model(torch.from_numpy(inputs)).double().numpy()  # (n, horizon)
    return task.scaler.inverse(last[:, None] + change)


@dataclass
class ForecastEvaluation:
    series_label: str
    unit: str
    times: tuple[str, ...]
    values: np.ndarray  # the whole series
    train_end: int
    val_end: int
    horizon: int
    length: int
    origins: np.ndarray  # every test origin
    truth: np.ndarray  # (n, horizon)
    forecasts: dict[str, np.ndarray]  # method -> (n, horizon)
    labels: dict[str, str]  # method -> what the legend says
    tiled_origins: np.ndarray  # non-overlapping origins covering the test part, for the chart

    def errors(self) -> dict[str, tuple[float, float]]:
        """method -> (MAE, RMSE) over every test origin and every step of the horizon."""
        return {name: (mae(f, self.truth), rmse(f, self.truth)) for name, f in self.forecasts.items()}

    def tiled(self, method: str) -> tuple[np.ndarray, np.ndarray]:
        """(positions, values) of the forecasts from the tiled origins, one after another."""
        rows = np.searchsorted(self.origins, self.tiled_origins)
        positions = (self.tiled_origins[:, None] + np.arange(self.horizon)[None, :]).ravel()
        values = self.forecasts[method][rows].ravel()
        keep = positions < len(self.values)
        return positions[keep], values[keep]


def tiled_origins(test_start: int, test_end: int, horizon: int) -> np.ndarray:
    """test_start, test_start + horizon, ...: origins whose forecasts cover the test part without overlap (the last
    one moved back so that its forecast ends at the series' end)."""
    starts = list(range(test_start, test_end - horizon + 1, horizon))
    if not starts or starts[-1] + horizon < test_end:
        starts.append(test_end - horizon)
    return np.array(sorted(set(starts)), dtype=np.int64)


def evaluate_forecasts(task: ForecastTask, length: int, models: dict[str, tuple[str, SequenceModel]]) -> ForecastEvaluation:
    """`models`: method -> (legend label, model with the weights to evaluate). Every test origin is scored."""
    series, horizon = task.series, task.horizon
    at = origins(series, "test", length, horizon)
    actual = truth(series.values, at, horizon)
    forecasts = {name: model_forecast(model, task, series.values, at, length) for name, (_, model) in models.items()}
    labels = {name: label for name, (label, _) in models.items()}
    forecasts["naive"] = naive_forecast(series.values, at, horizon)
    labels["naive"] = "naive (last value)"
    if series.period:
        forecasts["seasonal"] = seasonal_naive_forecast(series.values, at, horizon, series.period)
        labels["seasonal"] = f"seasonal naive (value {series.period} steps earlier)"
    return ForecastEvaluation(
        series_label=series.label, unit=series.unit, times=series.times, values=series.values,
        train_end=series.train_end, val_end=series.val_end, horizon=horizon, length=length, origins=at,
        truth=actual, forecasts=forecasts, labels=labels,
        tiled_origins=tiled_origins(series.val_end, len(series), horizon),
    )
