"""Practice 2, normalisation: the same network, seed, split, window and horizon, trained once on the raw series and
once on the standardised one (mean and standard deviation of the training part only), both scored in the series'
own units on the test part.

Both arms read the window's values as they are (levels, not the Forecast page's changes from the last value, and
no log: the only difference between the arms is the scaling) and predict the next `horizon` values directly. The
best validation checkpoint of each is restored before it is scored (lstm_viz.practices.fitting).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from lstm_viz.core.architectures import ARCHITECTURES
from lstm_viz.core.model import ModelConfig, build_model
from lstm_viz.data.series import Series, load_series, mae, naive_forecast, origins, rmse, truth
from lstm_viz.practices.fitting import FitSettings, fit, predict
from lstm_viz.rules import checks
from lstm_viz.rules.ranges import LAB_HIDDEN_RANGE

SERIES_CHOICES = ("sunspots", "airline", "co2")
ARCH_CHOICES = ("lstm", "gru", "rnn")
STEP_CHOICES = (300, 600, 1200)
ARMS = ("raw", "standardised")
ARM_LABELS = {"raw": "raw series", "standardised": "standardised series"}
HELPED_BY = 0.05  # standardising helped when its MAE is more than 5% below the raw arm's


@dataclass(frozen=True)
class NormSettings:
    series: str = "sunspots"
    arch: str = "lstm"
    steps: int = 600
    hidden_size: int = 32
    learning_rate: float = 1e-2
    batch_size: int = 32
    eval_every: int = 10
    seed: int = 0

    def validate(self) -> "NormSettings":
        checks.one_of("series", self.series, SERIES_CHOICES)
        checks.one_of("architecture", self.arch, ARCH_CHOICES)
        checks.whole_number("hidden size", self.hidden_size, *LAB_HIDDEN_RANGE)
        self.fit_settings().validate()
        return self

    def fit_settings(self) -> FitSettings:
        return FitSettings(steps=self.steps, batch_size=self.batch_size, learning_rate=self.learning_rate,
                           eval_every=self.eval_every, seed=self.seed)

    def units(self) -> float:
        return float(self.steps * len(ARMS))


@dataclass(frozen=True)
class Standardiser:
    """x -> (x - mean) / std; the identity for the raw arm."""
    mean: float = 0.0
    std: float = 1.0

    def transform(self, values: np.ndarray) -> np.ndarray:
        return (np.asarray(values, dtype=np.float64) - self.mean) / self.std

    def inverse(self, scaled: np.ndarray) -> np.ndarray:
        return np.asarray(scaled, dtype=np.float64) * self.std + self.mean


def fit_standardiser(values: np.ndarray, train_end: int) -> Standardiser:
    """Mean and standard deviation of values[:train_end] alone: nothing of the validation or test part leaks in."""
    train = np.asarray(values[:train_end], dtype=np.float64)
    std = float(train.std())
    return Standardiser(float(train.mean()), std if std > 0 else 1.0)


@dataclass
class ArmData:
    scaler: Standardiser
    train: tuple[torch.Tensor, torch.Tensor]
    val: tuple[torch.Tensor, torch.Tensor]
    test_inputs: torch.Tensor
    test_origins: np.ndarray


def level_windows(scaled: np.ndarray, at: np.ndarray, window: int, horizon: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs (n, window, 1), targets (n, horizon)) of the values as they are on this arm's scale."""
    at = np.asarray(at, dtype=np.int64)
    inputs = scaled[at[:, None] + np.arange(-window, 0)[None, :]]
    targets = scaled[at[:, None] + np.arange(horizon)[None, :]]
    return torch.from_numpy(inputs[..., None].astype(np.float32)), torch.from_numpy(targets.astype(np.float32))


def prepare_arm(series: Series, window: int, horizon: int, standardise: bool) -> ArmData:
    """One arm's windows: the scaler is fitted on the training part only, then applied to the whole series."""
    scaler = fit_standardiser(series.values, series.train_end) if standardise else Standardiser()
    scaled = scaler.transform(series.values)
    train = level_windows(scaled, origins(series, "train", window, horizon), window, horizon)
    val = level_windows(scaled, origins(series, "val", window, horizon), window, horizon)
    at = origins(series, "test", window, horizon)
    return ArmData(scaler, train, val, level_windows(scaled, at, window, horizon)[0], at)


@dataclass
class NormArm:
    arm: str
    scaler: Standardiser
    mae: float  # on the test part, in the series' units
    rmse: float
    best_step: int
    seconds: float
    steps: list[int]
    val_loss: list[float]  # on this arm's own scale
    forecasts: np.ndarray  # (origins, horizon) in the series' units

    @property
    def label(self) -> str:
        return ARM_LABELS[self.arm]


@dataclass
class NormResult:
    settings: NormSettings
    series_label: str
    unit: str
    window: int
    horizon: int
    origins: np.ndarray
    actual: np.ndarray
    naive_mae: float
    arms: dict[str, NormArm]
    times: tuple[str, ...] = ()  # the series' time labels, for the chart's axis


def _mse(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return ((outputs - targets) ** 2).mean(dim=-1)


def run_normalisation(settings: NormSettings, should_stop: Callable[[], bool] = lambda: False,
                      on_progress: Callable[[float], None] = lambda fraction: None) -> NormResult | None:
    settings.validate()
    series = load_series(settings.series)
    window, horizon = series.default_window, series.default_horizon
    config = ModelConfig(arch=settings.arch, input_size=1, output_size=horizon, hidden_size=settings.hidden_size)
    arms: dict[str, NormArm] = {}
    for index, arm in enumerate(ARMS):
        data = prepare_arm(series, window, horizon, standardise=arm == "standardised")
        model = build_model(config, settings.seed)
        fitted = fit(model, _mse, data.train, data.val, settings.fit_settings(), should_stop,
                     lambda fraction, i=index: on_progress((i + fraction) / len(ARMS)))
        if fitted is None:
            return None
        forecasts = data.scaler.inverse(predict(model, data.test_inputs).double().numpy())
        actual = truth(series.values, data.test_origins, horizon)
        arms[arm] = NormArm(arm, data.scaler, mae(forecasts, actual), rmse(forecasts, actual), fitted.best_step,
                            fitted.seconds, fitted.steps, fitted.val_loss, forecasts)
    at = origins(series, "test", window, horizon)
    actual = truth(series.values, at, horizon)
    return NormResult(settings, series.label, series.unit, window, horizon, at, actual,
                      mae(naive_forecast(series.values, at, horizon), actual), arms, series.times)


def _number(value: float) -> str:
    return f"{value:.3g}"


def normalisation_takeaway(result: NormResult) -> str:
    """One line from the two errors (and the naive forecast's, for scale)."""
    raw, standard = result.arms["raw"], result.arms["standardised"]
    arch = ARCHITECTURES[result.settings.arch].label
    unit = result.unit
    naive = f"the naive forecast's is {_number(result.naive_mae)}"
    if standard.mae < raw.mae * (1 - HELPED_BY):
        return (f"Standardising cut the {arch}'s test MAE from {_number(raw.mae)} to {_number(standard.mae)} {unit} "
                f"({raw.mae / standard.mae:.1f}x smaller); {naive}.")
    if raw.mae < standard.mae * (1 - HELPED_BY):
        return (f"Standardising did not help here: the {arch}'s test MAE was {_number(standard.mae)} {unit} "
                f"standardised against {_number(raw.mae)} raw; {naive}.")
    return (f"Standardising made no clear difference: the {arch}'s test MAE was {_number(standard.mae)} {unit} "
            f"standardised and {_number(raw.mae)} raw (within {HELPED_BY:.0%}); {naive}.")
