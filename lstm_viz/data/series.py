"""Real and generated time series for forecasting: loading the bundled CSVs, a time-ordered split, scaling fitted
on the training part only, windows, naive and seasonal-naive forecasts, MAE and RMSE. NumPy only, no torch.

A series is split in time: train | validation | test, the test part being the held-out tail. A forecast from
origin t uses the `window` values before t and predicts the `horizon` values from t on; an origin belongs to a
part when all its predicted values lie in that part (its inputs may reach back into earlier parts, as they
would in use). Models see the series after `Scaler` (optional log, then standardised with the training part's
mean and standard deviation), as changes from the window's last value, and predict the change of each future
value from it, so predicting zero is the naive forecast.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from lstm_viz.rules.errors import ConfigError
from lstm_viz.rules import paths

DATA_DIR = paths.DATA_DIR

MIN_WINDOW = 2
MAX_WINDOW = 200  # steps the model reads; longer windows on short series leave too few training windows
MAX_HORIZON = 48
MIN_TRAIN_WINDOWS = 8  # fewer distinct training windows than this is memorisation, not forecasting
MAX_EVAL_WINDOWS = 512  # evenly spaced test origins beyond this: bounded evaluation cost on long uploads


@dataclass(frozen=True)
class Series:
    name: str
    label: str
    values: np.ndarray  # (n,) float64, finite
    times: tuple[str, ...]  # a label per value (e.g. "1949-01"); positions as text when there is no time column
    unit: str
    period: int | None  # the seasonal period in steps (12 for monthly data with a yearly cycle), None if none
    val_size: int
    test_size: int
    log: bool = False  # model log(values): the airline series' seasonal swing grows with its level
    default_window: int = 24
    default_horizon: int = 12
    source: str = ""
    description: str = ""
    extra: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=np.float64)
        object.__setattr__(self, "values", values)
        if values.ndim != 1 or not np.isfinite(values).all():
            raise ConfigError(f"{self.label}: the values must be one finite number per step")
        if len(self.times) != len(values):
            raise ConfigError(f"{self.label}: {len(self.times)} time labels for {len(values)} values")
        if self.log and values.min() <= 0:
            raise ConfigError(f"{self.label}: a log scale needs positive values")

    def __len__(self) -> int:
        return len(self.values)

    @property
    def train_end(self) -> int:
        return len(self.values) - self.val_size - self.test_size

    @property
    def val_end(self) -> int:
        return len(self.values) - self.test_size

    def part(self, split: str) -> tuple[int, int]:
        """[start, end) of "train", "val" or "test"."""
        return {"train": (0, self.train_end), "val": (self.train_end, self.val_end),
                "test": (self.val_end, len(self.values))}[split]

    def with_values(self, values: np.ndarray, label: str | None = None) -> "Series":
        """The same series (split, scale settings) with other values, e.g. with anomalies injected."""
        return Series(**{**self.__dict__, "values": np.asarray(values, dtype=np.float64), "label": label or self.label})

    # ----- limits that depend on the series -----
    def max_horizon(self) -> int:
        return max(1, min(MAX_HORIZON, self.val_size, self.test_size))

    def max_window(self, horizon: int) -> int:
        return min(MAX_WINDOW, self.train_end - horizon - MIN_TRAIN_WINDOWS + 1)

    def check(self, window: int, horizon: int) -> None:
        """Raise ConfigError with the limits when a window and horizon do not fit this series."""
        if not 1 <= horizon <= self.max_horizon():
            raise ConfigError(
                f"{self.label}: the horizon must be between 1 and {self.max_horizon()} steps (got {horizon}); "
                f"it may not be longer than the validation ({self.val_size}) or test ({self.test_size}) part"
            )
        top = self.max_window(horizon)
        if top < MIN_WINDOW:
            raise ConfigError(
                f"{self.label} has {len(self)} values: too few for a horizon of {horizon} (its training part of "
                f"{self.train_end} values must hold at least {MIN_TRAIN_WINDOWS} windows of {MIN_WINDOW} + {horizon} steps)"
            )
        if not MIN_WINDOW <= window <= top:
            raise ConfigError(
                f"{self.label}: the input window must be between {MIN_WINDOW} and {top} steps for a horizon of "
                f"{horizon} (got {window}); the training part has {self.train_end} values"
            )


def split_sizes(count: int, val_fraction: float = 0.15, test_fraction: float = 0.15) -> tuple[int, int]:
    """(validation size, test size) for a series without chosen sizes, e.g. an upload."""
    return max(1, round(count * val_fraction)), max(1, round(count * test_fraction))


# ----------------------------------------------------------------------------------------------------
# scaling, fitted on the training part only
@dataclass(frozen=True)
class Scaler:
    mean: float
    std: float
    log: bool

    @classmethod
    def fit(cls, series: Series) -> "Scaler":
        train = series.values[: series.train_end]
        transformed = np.log(train) if series.log else train
        std = float(transformed.std())
        return cls(mean=float(transformed.mean()), std=std if std > 0 else 1.0, log=series.log)

    def transform(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        if self.log:
            # A value at or below zero (an injected dropout) is clipped to a thousandth of a unit, not -inf.
            values = np.log(np.maximum(values, 1e-3))
        return (values - self.mean) / self.std

    def inverse(self, scaled: np.ndarray) -> np.ndarray:
        values = np.asarray(scaled, dtype=np.float64) * self.std + self.mean
        return np.exp(values) if self.log else values


# ----------------------------------------------------------------------------------------------------
# windows
def origins(series: Series, split: str, window: int, horizon: int) -> np.ndarray:
    """Every forecast origin t whose `horizon` targets lie in `split` and whose `window` inputs exist."""
    start, end = series.part(split)
    first = max(start, window)
    last = end - horizon  # inclusive: targets t .. t + horizon - 1 < end
    return np.arange(first, last + 1) if last >= first else np.zeros(0, dtype=np.int64)


def evenly_spaced(candidates: np.ndarray, count: int) -> np.ndarray:
    if len(candidates) <= count:
        return candidates
    return candidates[np.unique(np.linspace(0, len(candidates) - 1, count).round().astype(int))]


def windows(scaled: np.ndarray, at: np.ndarray, window: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Both relative to the window's last value x = scaled[t - 1]: (inputs (n, window) = scaled[t - window : t] - x,
    targets (n, horizon) = scaled[t : t + horizon] - x). Relative inputs make the model blind to the level, which on
    the airline series (a test part above every training value) cut the LSTM's test MSE from about 0.1-0.2 to 0.03."""
    at = np.asarray(at, dtype=np.int64)
    inputs = scaled[at[:, None] + np.arange(-window, 0)[None, :]]
    future = scaled[at[:, None] + np.arange(horizon)[None, :]]
    last = inputs[:, -1:]
    return inputs - last, future - last


# ----------------------------------------------------------------------------------------------------
# baselines and error measures, in the series' own units
def naive_forecast(values: np.ndarray, at: np.ndarray, horizon: int) -> np.ndarray:
    """(n, horizon): repeat the last value before each origin."""
    return np.repeat(np.asarray(values, dtype=np.float64)[np.asarray(at) - 1][:, None], horizon, axis=1)


def seasonal_naive_forecast(values: np.ndarray, at: np.ndarray, horizon: int, period: int) -> np.ndarray:
    """(n, horizon): the value one season earlier, y[t + h - period * ceil((h + 1) / period)], from before t."""
    values = np.asarray(values, dtype=np.float64)
    steps = np.arange(horizon)
    lag = period * np.ceil((steps + 1) / period).astype(np.int64)
    index = np.asarray(at)[:, None] + steps[None, :] - lag[None, :]
    if index.size and index.min() < 0:
        raise ConfigError(f"a seasonal-naive forecast needs {period} values before the first origin")
    return values[index]


def truth(values: np.ndarray, at: np.ndarray, horizon: int) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)[np.asarray(at)[:, None] + np.arange(horizon)[None, :]]


def mae(forecast: np.ndarray, actual: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(forecast) - np.asarray(actual))))


def rmse(forecast: np.ndarray, actual: np.ndarray) -> float:
    return float(math.sqrt(np.mean((np.asarray(forecast) - np.asarray(actual)) ** 2)))


# ----------------------------------------------------------------------------------------------------
# the bundled series
def _read_bundled_csv(file_name: str) -> tuple[tuple[str, ...], np.ndarray]:
    with open(DATA_DIR / file_name, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[1:]
    return tuple(row[0] for row in rows), np.array([float(row[1]) for row in rows])


def sine_sawtooth(count: int = 800, seed: int = 0) -> np.ndarray:
    """A sine of period 40 plus a sawtooth of period 20, plus N(0, 0.1^2) noise: the common period is 40."""
    steps = np.arange(count)
    noise = np.random.default_rng(seed).normal(0.0, 0.1, count)
    return np.sin(2 * np.pi * steps / 40) + 0.5 * (2 * ((steps / 20) % 1.0) - 1) + noise


# The bundled series: the file each is read from (None: generated by sine_sawtooth) and how it is modelled and told.
BUNDLED_SERIES: dict[str, dict] = {
    "airline": dict(
        file="airline_passengers.csv", label="Airline passengers, monthly 1949-1960", unit="thousand passengers",
        period=12, val_size=24, test_size=24, log=True, default_window=24, default_horizon=12,
        source="Box & Jenkins (1976), series G: international airline passengers, monthly totals",
        description="144 months; trend and a yearly cycle whose swing grows with the level (modelled in log).",
    ),
    "sunspots": dict(
        file="sunspots_yearly.csv", label="Sunspot number, yearly 1700-2008", unit="sunspot number", period=None,
        val_size=40, test_size=40, default_window=24, default_horizon=5,
        source="Yearly mean sunspot number (SIDC/SILSO version 1, as distributed by NOAA NGDC)",
        description="309 years of the roughly 11-year solar cycle, whose length and height vary.",
    ),
    "co2": dict(
        file="co2_mauna_loa_annual.csv", label="CO₂ at Mauna Loa, yearly mean 1959-2023", unit="ppm", period=None,
        val_size=8, test_size=8, default_window=8, default_horizon=3,
        source="NOAA GML / Scripps: annual mean CO₂ at Mauna Loa Observatory",
        description="65 yearly means: a smooth, accelerating rise. Short: few training windows.",
    ),
    "sine": dict(
        file=None, label="Sine + sawtooth + noise (generated)", unit="value", period=40, val_size=120, test_size=120,
        default_window=40, default_horizon=20,
        source="generated: sin(2πt/40) + 0.5·sawtooth(t/20) + N(0, 0.1²), seed 0",
        description="800 steps of a periodic signal with noise: a clean check that a model finds the cycle.",
    ),
}


@lru_cache(maxsize=None)
def load_series(name: str) -> Series:
    """A bundled series by name (see SERIES_NAMES); shared, treat as read-only."""
    if name not in BUNDLED_SERIES:
        raise ConfigError(f"unknown series {name!r}; known: {', '.join(SERIES_NAMES)}")
    spec = dict(BUNDLED_SERIES[name])
    file_name = spec.pop("file")
    if file_name is None:
        values = sine_sawtooth()
        times = tuple(str(i) for i in range(len(values)))
    else:
        times, values = _read_bundled_csv(file_name)
    return Series(name, values=values, times=times, **spec)


SERIES_NAMES = tuple(BUNDLED_SERIES)


def series_from_upload(name: str, values: np.ndarray, times: list[str] | None) -> Series:
    """An uploaded series (already validated by lstm_viz.data.uploads.read_series_csv): 70/15/15 split, no season."""
    values = np.asarray(values, dtype=np.float64)
    val_size, test_size = split_sizes(len(values))
    horizon = max(1, min(12, val_size, test_size))
    train_end = len(values) - val_size - test_size
    window = max(MIN_WINDOW, min(24, train_end - horizon - MIN_TRAIN_WINDOWS + 1))
    return Series(
        "upload", name, values, tuple(times) if times is not None else tuple(str(i) for i in range(len(values))),
        unit="value", period=None, val_size=val_size, test_size=test_size, default_window=window,
        default_horizon=horizon, source="uploaded by you", description=f"{len(values)} values.",
    )
