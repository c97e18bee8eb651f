"""Anomaly detection with a forecaster trained on normal data.

1. Inject labelled anomalies into the test part of a real series, from a seed: spikes (one value jumps by
   SPIKE_SIZE standard deviations of the training part's one-step changes), level shifts (a stretch of values moved
   by SHIFT_SIZE of them) and dropouts (a stretch of values reads zero, a sensor that stopped).
2. Score every value of the validation and test parts by the forecaster's one-step error on the standardised scale:
   |x_t - x̂_t|, x̂_t forecast from the `length` values before t (the first step of the model's horizon).
3. Threshold: the largest score on the validation part, which holds no anomalies: the lowest threshold that raises
   no false alarm there.
4. Flag the test values above the threshold; precision, recall and F1 against the injected labels, per value.

The naive forecaster (x̂_t = x_{t-1}) is scored the same way as a baseline detector.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstm_viz.analysis.forecasting import scaled_inputs
from lstm_viz.core.model import SequenceModel
from lstm_viz.data.series import Series
from lstm_viz.core.tasks.forecast import ForecastTask

SPIKE_SIZE = 6.0
SHIFT_SIZE = 4.0
SHIFT_LENGTH = 4
DROPOUT_LENGTH = 2
KINDS = ("spike", "level shift", "dropout")
MAX_EVENTS_PER_KIND = 10  # long uploads: a readable chart, and injection stays fast


@dataclass(frozen=True)
class Injection:
    kind: str
    start: int
    end: int  # exclusive


@dataclass
class InjectedSeries:
    values: np.ndarray  # the series with anomalies
    labels: np.ndarray  # (n,) bool: True where a value was changed
    injections: list[Injection]


def inject_anomalies(series: Series, seed: int, events_per_kind: int | None = None) -> InjectedSeries:
    """Anomalies in the test part only (training and validation stay normal), at seeded positions that do not
    touch each other. By default one event of each kind per 24 test values (at least one, at most 10)."""
    rng = np.random.default_rng(seed)
    start, end = series.part("test")
    values = series.values.copy()
    labels = np.zeros(len(values), dtype=bool)
    step_std = float(np.std(np.diff(series.values[: series.train_end]))) or 1.0
    count = events_per_kind if events_per_kind is not None else min(MAX_EVENTS_PER_KIND, max(1, (end - start) // 24))
    lengths = {"spike": 1, "level shift": SHIFT_LENGTH, "dropout": DROPOUT_LENGTH}
    plan = [kind for kind in KINDS for _ in range(count)]
    rng.shuffle(plan)
    injections: list[Injection] = []
    blocked = np.zeros(len(values) + 1, dtype=bool)
    blocked[:start] = True
    for kind in plan:
        size = lengths[kind]
        # Free positions: the event and one value either side untouched by other events.
        free = [t for t in range(start, end - size + 1) if not blocked[max(0, t - 1): t + size + 1].any()]
        if not free:
            break
        t = int(rng.choice(free))
        if kind == "spike":
            values[t] += rng.choice([-1.0, 1.0]) * SPIKE_SIZE * step_std
        elif kind == "level shift":
            values[t: t + size] += rng.choice([-1.0, 1.0]) * SHIFT_SIZE * step_std
        else:
            values[t: t + size] = 0.0
        labels[t: t + size] = True
        blocked[t: t + size] = True
        injections.append(Injection(kind, t, t + size))
    injections.sort(key=lambda item: item.start)
    return InjectedSeries(values=values, labels=labels, injections=injections)


def model_scores(model: SequenceModel, task: ForecastTask, values: np.ndarray, positions: np.ndarray, length: int) -> np.ndarray:
    """|x_t - x̂_t| on the standardised scale for each t in `positions`, x̂_t the model's first forecast step."""
    import torch

    positions = np.asarray(positions, dtype=np.int64)
    inputs, last = scaled_inputs(task, values, positions, length)
    model.eval()
    with torch.no_grad():
        first_step = model(torch.from_numpy(inputs))[:, 0].double().numpy()
    actual = task.scaler.transform(values)[positions]
    return np.abs(actual - (last + first_step))


def naive_scores(task: ForecastTask, values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    scaled = task.scaler.transform(values)
    positions = np.asarray(positions, dtype=np.int64)
    return np.abs(scaled[positions] - scaled[positions - 1])


def precision_recall_f1(flags: np.ndarray, labels: np.ndarray) -> tuple[float, float, float]:
    """Per value. Precision is 1 when nothing is flagged (no false alarm), recall 1 when nothing is labelled."""
    flags, labels = np.asarray(flags, dtype=bool), np.asarray(labels, dtype=bool)
    hits = int((flags & labels).sum())
    precision = hits / flags.sum() if flags.sum() else 1.0
    recall = hits / labels.sum() if labels.sum() else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return float(precision), float(recall), float(f1)


@dataclass
class Detection:
    label: str
    val_scores: np.ndarray
    test_scores: np.ndarray
    threshold: float
    flags: np.ndarray  # (test values,) bool
    precision: float
    recall: float
    f1: float


@dataclass
class AnomalyReport:
    injected: InjectedSeries
    val_positions: np.ndarray
    test_positions: np.ndarray
    detections: dict[str, Detection]  # method -> result

    @property
    def test_labels(self) -> np.ndarray:
        return self.injected.labels[self.test_positions]


def _detection(label: str, val_scores: np.ndarray, test_scores: np.ndarray, labels: np.ndarray) -> Detection:
    threshold = float(val_scores.max())
    flags = test_scores > threshold
    return Detection(label, val_scores, test_scores, threshold, flags, *precision_recall_f1(flags, labels))


def detect_anomalies(task: ForecastTask, length: int, models: dict[str, tuple[str, SequenceModel]], seed: int) -> AnomalyReport:
    """`models`: method -> (legend label, trained forecaster). Adds the naive forecaster as "naive"."""
    series = task.series
    injected = inject_anomalies(series, seed)
    val_start, val_end = series.part("val")
    val_positions = np.arange(max(val_start, length), val_end)
    test_positions = np.arange(*series.part("test"))
    labels = injected.labels[test_positions]
    detections = {}
    for name, (label, model) in models.items():
        # Validation scores come from the clean series: it is identical to the injected one before the test part.
        detections[name] = _detection(
            label, model_scores(model, task, injected.values, val_positions, length),
            model_scores(model, task, injected.values, test_positions, length), labels,
        )
    detections["naive"] = _detection(
        "naive (last value)", naive_scores(task, injected.values, val_positions),
        naive_scores(task, injected.values, test_positions), labels,
    )
    return AnomalyReport(injected, val_positions, test_positions, detections)
