"""Practice 3, the honest baseline: on every bundled forecasting series, the LSTM, GRU and RNN against ETS and
seasonal ARIMA (lstm_viz.practices.classical, statsmodels) and the naive and seasonal-naive forecasts, on the same
test origins and horizon, each with the wall time it took. The winner is whichever has the lowest test MAE.

The networks read the series as the Forecast page's do (its ForecastTask: log for the airline series, standardised
on the training part, changes from the window's last value), train on every training window with the same seed
and batches, and are scored with their best validation checkpoint restored. The series' default window and horizon
are the Forecast page's.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from lstm_viz.analysis.forecasting import model_forecast
from lstm_viz.core.architectures import ARCHITECTURES
from lstm_viz.core.model import ModelConfig, build_model
from lstm_viz.core.tasks.forecast import ForecastTask, configured_forecast_task
from lstm_viz.data.series import mae, naive_forecast, origins, rmse, seasonal_naive_forecast, truth, windows
from lstm_viz.practices.classical import classical_forecast
from lstm_viz.practices.fitting import FitSettings, fit
from lstm_viz.rules import checks
from lstm_viz.rules.ranges import LAB_HIDDEN_RANGE
from lstm_viz.rules.errors import ConfigError

SERIES = ("airline", "co2", "sunspots")  # the bundled real series (the generated sine is left out: no product)
NETWORKS = ("lstm", "gru", "rnn")
STEP_CHOICES = (200, 500, 1000)
CLASSICAL_SHARE_OF_UNITS = 0.1  # the statistical fits' share of a series' planned work (they take about a second)


@dataclass(frozen=True)
class BaselineSettings:
    series: tuple[str, ...] = SERIES
    networks: tuple[str, ...] = NETWORKS  # the tests leave them out to check the statistical side alone
    steps: int = 500
    hidden_size: int = 32
    learning_rate: float = 1e-2
    batch_size: int = 32
    eval_every: int = 10
    seed: int = 0

    def validate(self) -> "BaselineSettings":
        if not self.series:
            raise ConfigError("pick at least one series")
        for name in self.series:
            checks.one_of("series", name, SERIES)
        for arch in self.networks:
            checks.one_of("network", arch, NETWORKS)
        checks.whole_number("hidden size", self.hidden_size, *LAB_HIDDEN_RANGE)
        self.fit_settings().validate()
        return self

    def fit_settings(self) -> FitSettings:
        return FitSettings(steps=self.steps, batch_size=self.batch_size, learning_rate=self.learning_rate,
                           eval_every=self.eval_every, seed=self.seed)

    def units(self) -> float:
        return float(len(self.series) * self.steps * max(1, len(self.networks)) * (1 + CLASSICAL_SHARE_OF_UNITS))


@dataclass
class MethodResult:
    method: str  # "lstm", "gru", "rnn", "ets", "arima", "naive", "seasonal"
    label: str  # what the table says, e.g. "ARIMA(0,1,1)(0,1,1)12"
    kind: str  # "network" | "statistical" | "naive"
    mae: float | None  # None: the fit failed
    rmse: float | None
    seconds: float
    status: str = "ok"  # "ok" | "warning" | "failed"
    note: str = ""
    forecasts: np.ndarray | None = None


@dataclass
class SeriesResult:
    series: str
    label: str
    unit: str
    window: int
    horizon: int
    origins: np.ndarray
    methods: list[MethodResult] = field(default_factory=list)

    def scored(self) -> list[MethodResult]:
        return [m for m in self.methods if m.mae is not None]

    def winner(self) -> MethodResult:
        return min(self.scored(), key=lambda m: m.mae)


@dataclass
class BaselineResult:
    settings: BaselineSettings
    series: list[SeriesResult]


def network_forecast(task: ForecastTask, arch: str, settings: BaselineSettings, at: np.ndarray,
                     should_stop: Callable[[], bool], on_progress: Callable[[float], None]) -> MethodResult | None:
    import torch

    started = time.perf_counter()
    length = task.default_length

    def part(split: str):
        inputs, targets = windows(task.scaled, origins(task.series, split, length, task.horizon), length, task.horizon)
        return torch.from_numpy(inputs[..., None].astype(np.float32)), torch.from_numpy(targets.astype(np.float32))

    model = build_model(ModelConfig.for_task(arch, task, hidden_size=settings.hidden_size), settings.seed)
    fitted = fit(model, task.per_example_loss, part("train"), part("val"), settings.fit_settings(), should_stop,
                 on_progress)
    if fitted is None:
        return None
    forecasts = model_forecast(model, task, task.series.values, at, length)
    actual = truth(task.series.values, at, task.horizon)
    return MethodResult(arch, ARCHITECTURES[arch].label, "network", mae(forecasts, actual), rmse(forecasts, actual),
                        time.perf_counter() - started, forecasts=forecasts)


def _simple(method: str, label: str, forecast: Callable[[], np.ndarray], actual: np.ndarray) -> MethodResult:
    started = time.perf_counter()
    forecasts = forecast()
    return MethodResult(method, label, "naive", mae(forecasts, actual), rmse(forecasts, actual),
                        time.perf_counter() - started, forecasts=forecasts)


def run_series(name: str, settings: BaselineSettings, should_stop: Callable[[], bool],
               on_progress: Callable[[float], None]) -> SeriesResult | None:
    task = configured_forecast_task(name, None, None)
    series, horizon = task.series, task.horizon
    at = origins(series, "test", task.default_length, horizon)
    actual = truth(series.values, at, horizon)
    result = SeriesResult(name, series.label, series.unit, task.default_length, horizon, at)
    result.methods.append(_simple("naive", "naive (last value)", lambda: naive_forecast(series.values, at, horizon),
                                  actual))
    if series.period:
        result.methods.append(_simple("seasonal", f"seasonal naive (period {series.period})",
                                      lambda: seasonal_naive_forecast(series.values, at, horizon, series.period), actual))
    for method in ("ets", "arima"):
        if should_stop():
            return None
        made = classical_forecast(method, series, at, horizon)
        scored = made.forecasts is not None
        result.methods.append(MethodResult(
            method, made.label, "statistical", mae(made.forecasts, actual) if scored else None,
            rmse(made.forecasts, actual) if scored else None, made.seconds, made.status, made.note, made.forecasts))
    share = CLASSICAL_SHARE_OF_UNITS / (1 + CLASSICAL_SHARE_OF_UNITS)
    on_progress(share)
    for index, arch in enumerate(settings.networks):
        made = network_forecast(task, arch, settings, at, should_stop,
                                lambda f, i=index: on_progress(share + (1 - share) * (i + f) / len(settings.networks)))
        if made is None:
            return None
        result.methods.append(made)
    return result


def run_baseline(settings: BaselineSettings, should_stop: Callable[[], bool] = lambda: False,
                 on_progress: Callable[[float], None] = lambda fraction: None) -> BaselineResult | None:
    settings.validate()
    results = []
    for index, name in enumerate(settings.series):
        done = run_series(name, settings, should_stop,
                          lambda f, i=index: on_progress((i + f) / len(settings.series)))
        if done is None:
            return None
        results.append(done)
    return BaselineResult(settings, results)


def _number(value: float) -> str:
    return f"{value:.3g}"


def series_takeaway(result: SeriesResult) -> str:
    """Who won on one series, the best network against it (or the best non-network if a network won), and any
    failed fit."""
    winner = result.winner()
    networks = [m for m in result.scored() if m.kind == "network"]
    others = [m for m in result.scored() if m.kind != "network"]
    text = f"{result.label}: {winner.label} won with a test MAE of {_number(winner.mae)} {result.unit} ({winner.seconds:.2g} s)"
    rival_pool = others if winner.kind == "network" else networks
    if rival_pool:
        rival = min(rival_pool, key=lambda m: m.mae)
        what = "the best non-network" if winner.kind == "network" else "the best network"
        text += f"; {what}, {rival.label}, had {_number(rival.mae)} ({rival.seconds:.2g} s)"
    failed = [m.label for m in result.methods if m.mae is None]
    if failed:
        text += f"; {', '.join(failed)} failed to fit"
    return text + "."


METHOD_NAMES = {"lstm": "the LSTM", "gru": "the GRU", "rnn": "the RNN", "ets": "ETS", "arima": "ARIMA",
                "naive": "the naive forecast", "seasonal": "the seasonal-naive forecast"}


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def baseline_takeaway(result: BaselineResult) -> str:
    """One line over every series: who won where, and how often a network did."""
    winners: dict[str, list[str]] = {}
    for series in result.series:
        winners.setdefault(series.winner().method, []).append(series.series)
    parts = [f"{METHOD_NAMES[method]} on {_listed(names)}" for method, names in winners.items()]
    count = len(result.series)
    networks = sum(len(names) for method, names in winners.items() if method in NETWORKS)
    if networks == 0:
        verdict = f"no network won on any of the {count} series" if count > 1 else "no network won"
    elif networks == count:
        verdict = ("a network won on both series" if count == 2 else f"a network won on all {count} series"
                   if count > 1 else "a network won")
    else:
        verdict = f"a network won on {networks} of {count} series"
    text = "Lowest test MAE: " + "; ".join(parts) + f". So {verdict}."
    return text
