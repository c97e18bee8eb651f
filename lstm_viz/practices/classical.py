"""The statistical forecasters a product team tries first, through statsmodels (a maintained library; statsforecast
was the issue's suggestion but pins pandas < 3, and the app pins pandas 3): ETS (statsmodels' ETSModel) and
seasonal ARIMA (SARIMAX).

Each is fitted once on the data before the test part (training and validation, as a statistician would: these
models choose their orders by AIC, not on a validation part), and then, with those parameters fixed, filtered up to
each test origin and asked for the next `horizon` values: the same origins and horizon the networks are scored on.

Order choice: a small AIC search, in `ets_candidates` and `arima_candidates`. ETS: additive errors, trend none /
additive / damped additive, additive season when the series has a period. ARIMA: (p, d, q) with p in 0..2 and
q in 0..1, and for a series without a season also the pure AR orders p = 3..10 (an AR order search, as
statsmodels' ar_select_order makes); d = 1 for a trending series and 0 for a stationary one (the sunspots), with a
seasonal (0, 1, 1) part of the series' period. A fit that fails, or whose optimiser does not converge, is reported as such (ConvergenceWarning
caught), never raised.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np

from lstm_viz.data.series import Series

# Which series trend (ARIMA differences them once; ETS may add a trend either way). Unknown series: differenced.
STATIONARY_SERIES = ("sunspots",)
ARIMA_P = (0, 1, 2)  # with q in ARIMA_Q; and, for a series without a season, the pure AR orders up to MAX_AR_ORDER
ARIMA_Q = (0, 1)
# The sunspots' cycle needs about 9 autoregressive lags: AIC picks AR(9) over AR(2) (2229 against 2262), and its
# test MAE is 17.4 against 28.7. Up to 2 only, the search would have handed the networks a win they did not earn.
MAX_AR_ORDER = 10
MAX_ITERATIONS = 200


@dataclass
class ClassicalForecast:
    method: str  # "ets" | "arima"
    label: str  # e.g. "ETS(A,Ad,A)" or "ARIMA(1,1,0)(0,1,1)12"
    forecasts: np.ndarray | None  # (origins, horizon) in the series' units; None when every candidate failed
    seconds: float
    status: str  # "ok" | "warning" | "failed"
    note: str = ""  # what went wrong, in words
    candidates: int = 0  # fits tried in the AIC search


def _transform(series: Series, values: np.ndarray) -> np.ndarray:
    return np.log(values) if series.log else np.asarray(values, dtype=np.float64)


def _inverse(series: Series, values: np.ndarray) -> np.ndarray:
    return np.exp(values) if series.log else values


def ets_candidates(series: Series) -> list[dict]:
    seasonal = {"seasonal": "add", "seasonal_periods": series.period} if series.period else {}
    return [dict(error="add", trend=None, **seasonal), dict(error="add", trend="add", **seasonal),
            dict(error="add", trend="add", damped_trend=True, **seasonal)]


def ets_label(spec: dict) -> str:
    trend = "N" if spec.get("trend") is None else ("Ad" if spec.get("damped_trend") else "A")
    return f"ETS(A,{trend},{'A' if spec.get('seasonal') else 'N'})"


def arima_candidates(series: Series) -> list[dict]:
    d = 0 if series.name in STATIONARY_SERIES else 1
    seasonal = (0, 1, 1, series.period) if series.period else (0, 0, 0, 0)
    # A constant for the stationary series (its mean); a drift for a differenced one without a season.
    trend = "c" if d == 0 else ("n" if series.period else "t")
    orders = [(p, d, q) for p in ARIMA_P for q in ARIMA_Q]
    if not series.period:
        orders += [(p, d, 0) for p in range(max(ARIMA_P) + 1, MAX_AR_ORDER + 1)]
    return [dict(order=order, seasonal_order=seasonal, trend=trend) for order in orders]


def arima_label(spec: dict) -> str:
    p, d, q = spec["order"]
    label = f"ARIMA({p},{d},{q})"
    if spec["seasonal_order"][3]:
        label += "({},{},{}){}".format(*spec["seasonal_order"])
    return label


def load_statsmodels() -> None:
    """Import the two models now (statsmodels is imported on first use, so the app starts without it)."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel  # noqa: F401
    from statsmodels.tsa.statespace.sarimax import SARIMAX  # noqa: F401


def _fit_ets(values: np.ndarray, spec: dict):
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    return ETSModel(values, **spec).fit(disp=False, maxiter=MAX_ITERATIONS)


def _forecast_ets(values: np.ndarray, spec: dict, fitted, at: np.ndarray, horizon: int) -> np.ndarray:
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    return np.stack([np.asarray(ETSModel(values[:origin], **spec).smooth(fitted.params).forecast(horizon))
                     for origin in at])


def _fit_arima(values: np.ndarray, spec: dict):
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    return SARIMAX(values, **spec).fit(disp=False, maxiter=MAX_ITERATIONS)


def _forecast_arima(values: np.ndarray, spec: dict, fitted, at: np.ndarray, horizon: int) -> np.ndarray:
    return np.stack([np.asarray(fitted.apply(values[:origin]).forecast(horizon)) for origin in at])


METHODS = {
    "ets": (ets_candidates, ets_label, _fit_ets, _forecast_ets),
    "arima": (arima_candidates, arima_label, _fit_arima, _forecast_arima),
}


def classical_forecast(method: str, series: Series, at: np.ndarray, horizon: int) -> ClassicalForecast:
    """Fit `method`'s candidates on the data before the test part, keep the lowest AIC, forecast from every origin
    in `at`. Never raises for a failed fit: the result says what failed. On one BLAS thread, as every job of the
    scheduler runs on one core: with OpenBLAS's default two, the co2 ARIMA search took 4-10 s instead of 0.24 s
    beside training threads (bench/lab_fitting.py)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _classical_forecast(method, series, at, horizon)


def _classical_forecast(method: str, series: Series, at: np.ndarray, horizon: int) -> ClassicalForecast:
    candidates, label_of, fit_one, forecast_all = METHODS[method]
    load_statsmodels()  # its first import takes seconds: not part of any method's time
    started = time.perf_counter()
    values = _transform(series, series.values)
    history = values[: series.val_end]
    best, best_spec, problems, warned = None, None, [], []
    specs = candidates(series)
    for spec in specs:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                fitted = fit_one(history, spec)
            except Exception as error:  # noqa: BLE001 - a statsmodels fit may raise anything: a failed fit, reported
                problems.append(f"{label_of(spec)}: {type(error).__name__}: {error}")
                continue
        messages = [str(w.message) for w in caught if "Converg" in type(w.message).__name__ or "converge" in str(w.message)]
        aic = float(getattr(fitted, "aic", np.nan))
        if not np.isfinite(aic):
            problems.append(f"{label_of(spec)}: no finite AIC")
            continue
        if best is None or aic < best.aic:
            best, best_spec, warned = fitted, spec, messages
    if best is None:
        return ClassicalForecast(method, method.upper(), None, time.perf_counter() - started, "failed",
                                 "every fit failed: " + "; ".join(problems)[:300], len(specs))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            forecasts = _inverse(series, forecast_all(values, best_spec, best, np.asarray(at), horizon))
    except Exception as error:  # noqa: BLE001 - as above: the forecast of a fitted model failed, reported
        return ClassicalForecast(method, label_of(best_spec), None, time.perf_counter() - started, "failed",
                                 f"forecasting failed: {type(error).__name__}: {error}"[:300], len(specs))
    if not np.isfinite(forecasts).all():
        return ClassicalForecast(method, label_of(best_spec), None, time.perf_counter() - started, "failed",
                                 "the forecasts were not finite", len(specs))
    status, note = ("warning", f"the chosen fit's optimiser did not converge ({warned[0][:120]})") if warned else ("ok", "")
    return ClassicalForecast(method, label_of(best_spec), forecasts, time.perf_counter() - started, status, note,
                             len(specs))
