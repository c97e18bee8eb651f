"""Series, the forecast task and anomaly detection against hand computations, plus short seeded training runs."""
import math

import numpy as np
import pytest
import torch

from lstm_viz.analysis.anomaly import detect_anomalies, inject_anomalies, precision_recall_f1
from lstm_viz.rules.errors import ConfigError
from lstm_viz.analysis.forecasting import evaluate_forecasts, tiled_origins
from lstm_viz.data.series import (
    SERIES_NAMES, Scaler, load_series, mae, naive_forecast, origins, rmse, seasonal_naive_forecast, sine_sawtooth,
    windows,
)
from lstm_viz.core.tasks import get_task
from lstm_viz.core.trainer import RunConfig, Trainer


def test_airline_series_is_box_and_jenkins_series_g():
    series = load_series("airline")
    assert len(series) == 144 and series.times[0] == "1949-01" and series.times[-1] == "1960-12"
    # Published summaries of series G: total 40,363 thousand, January 1949 112, July 1960 622 (the maximum).
    assert series.values.sum() == 40363 and series.values[0] == 112 and series.values.max() == 622
    assert series.values.argmax() == 138 and series.period == 12
    yearly = series.values.reshape(12, 12).sum(axis=1)
    assert (np.diff(yearly) > 0).all()  # every year busier than the one before


def test_bundled_real_series_shapes_and_known_values():
    sunspots = load_series("sunspots")
    assert len(sunspots) == 309 and sunspots.times[0] == "1700" and sunspots.times[-1] == "2008"
    assert sunspots.values[sunspots.times.index("1957")] == pytest.approx(190.2)  # the highest year on record
    assert sunspots.values.min() == 0.0
    co2 = load_series("co2")
    assert len(co2) == 65 and co2.values[0] == pytest.approx(315.98) and co2.values[-1] == pytest.approx(421.08)
    assert (np.diff(co2.values) > 0).all()  # the yearly mean rose every year


def test_generated_sine_sawtooth_statistics():
    values = sine_sawtooth(800, seed=0)
    steps = np.arange(800)
    clean = np.sin(2 * np.pi * steps / 40) + 0.5 * (2 * ((steps / 20) % 1.0) - 1)
    noise = values - clean
    assert abs(noise.std() - 0.1) < 0.01 and abs(noise.mean()) < 0.01
    # The clean part repeats every 40 steps exactly.
    assert np.allclose(clean[40:], clean[:-40])
    assert not np.array_equal(values, sine_sawtooth(800, seed=1))


@pytest.mark.parametrize("name", SERIES_NAMES)
def test_split_is_time_ordered_and_scaler_sees_only_the_training_part(name):
    series = load_series(name)
    assert 0 < series.train_end < series.val_end < len(series)
    scaler = Scaler.fit(series)
    train = series.values[: series.train_end]
    transformed = np.log(train) if series.log else train
    assert scaler.mean == pytest.approx(transformed.mean()) and scaler.std == pytest.approx(transformed.std())
    changed = series.values.copy()
    changed[series.train_end:] *= 3.0
    assert Scaler.fit(series.with_values(changed)) == scaler
    assert np.allclose(scaler.inverse(scaler.transform(series.values)), series.values)


def test_windows_and_origins_match_a_hand_loop():
    series = load_series("airline")
    scaled = Scaler.fit(series).transform(series.values)
    at = origins(series, "test", 24, 12)
    assert list(at) == list(range(120, 133))  # every origin whose 12 targets lie in 1959-1960
    train_at = origins(series, "train", 24, 12)
    assert train_at[0] == 24 and train_at[-1] + 11 == series.train_end - 1
    inputs, targets = windows(scaled, at, 24, 12)
    for row, t in enumerate(at):
        last = scaled[t - 1]
        assert np.allclose(inputs[row], [scaled[t - 24 + k] - last for k in range(24)])
        assert np.allclose(targets[row], [scaled[t + k] - last for k in range(12)])


def test_naive_and_seasonal_naive_match_a_hand_loop():
    values = np.arange(100.0) ** 1.5
    at = np.array([30, 41, 77])
    naive = naive_forecast(values, at, 5)
    seasonal = seasonal_naive_forecast(values, at, 15, 12)
    for row, t in enumerate(at):
        assert list(naive[row]) == [values[t - 1]] * 5
        for h in range(15):
            source = t + h - 12 if h < 12 else t + h - 24
            assert seasonal[row, h] == values[source]
    assert mae([1.0, 2.0], [2.0, 4.0]) == 1.5 and rmse([1.0, 2.0], [2.0, 4.0]) == pytest.approx(math.sqrt(2.5))


def test_forecast_baseline_is_the_naive_forecast_error_on_the_test_part():
    task = get_task("forecast").with_options(series="airline", horizon=12)
    inputs, targets = task.generate(999, 24, torch.Generator().manual_seed(0), split="test")
    assert inputs.shape == (13, 24, 1) and targets.shape == (13, 12)
    assert task.metric(torch.zeros_like(targets), targets) == pytest.approx(task.baseline(24), rel=1e-5)
    # The same number from the raw passenger counts: log changes from the last value, over the training part's std.
    values = load_series("airline").values
    log_train = np.log(values[:96])
    hand = np.mean([((np.log(values[t + h]) - np.log(values[t - 1])) / log_train.std()) ** 2
                    for t in range(120, 133) for h in range(12)])
    assert task.baseline(24) == pytest.approx(hand, rel=1e-9)
    # Seasonal naive is far better than naive on a seasonal series; it is the "solved" line.
    assert task.solved_threshold(24) < 0.5 * task.baseline(24)


def test_forecast_task_options_and_limits():
    task = get_task("forecast")
    assert task.with_options() is task and task.horizon == 12 and task.output_size == 12
    assert task.with_options(series="co2").horizon == 3
    with pytest.raises(ConfigError, match="horizon must be between 1 and 24"):
        task.with_options(series="airline", horizon=30)
    with pytest.raises(ConfigError, match="unknown series"):
        task.with_options(series="bitcoin")
    with pytest.raises(ConfigError, match="takes the options"):
        task.with_options(colour="red")
    with pytest.raises(ConfigError, match="length must be between 2 and 77"):
        RunConfig(task="forecast", task_options={"series": "airline"}, length=80).validate()
    with pytest.raises(ConfigError, match="no longer on the server"):
        task.with_options(dataset="series-doesnotexist")


def test_forecast_probe_comes_from_validation_and_training_from_training():
    task = get_task("forecast").with_options(series="sine", horizon=20)
    series = task.series
    train_at = task.origins_for("train", 40)
    assert train_at.max() + 20 <= series.train_end
    probe_at = task.origins_for("probe", 40, 16)
    assert len(probe_at) == 16 and probe_at.min() >= series.train_end and probe_at.max() + 20 <= series.val_end
    first = task.generate(8, 40, torch.Generator().manual_seed(3))
    expected = windows(task.scaled, train_at[torch.randint(0, len(train_at), (8,), generator=torch.Generator().manual_seed(3)).numpy()], 40, 20)
    assert np.allclose(first[0][..., 0].numpy(), expected[0], atol=1e-6)
    assert "value" in task.features(first[0][0].numpy())


def _train(config: RunConfig) -> Trainer:
    torch.set_num_threads(1)
    trainer = Trainer(config)
    while not trainer.finished:
        trainer.train_step()
    return trainer


@pytest.fixture(scope="module")
def airline_run() -> Trainer:
    return _train(RunConfig(task="forecast", task_options={"series": "airline"}, length=24, archs=("lstm",),
                            hidden_size=16, learning_rate=1e-2, batch_size=32, max_steps=80, eval_every=20,
                            probe_every=40, stop_when_solved=False, seed=0))


def test_a_short_run_beats_the_naive_forecast(airline_run):
    lstm = airline_run.runs["lstm"]
    assert lstm.eval_metric[-1] < 0.5 * airline_run.baseline
    evaluation = evaluate_forecasts(airline_run.task, 24, {a: (r.label, r.model) for a, r in airline_run.runs.items()})
    errors = evaluation.errors()
    assert errors["lstm"][0] < errors["naive"][0] and errors["lstm"][1] < errors["naive"][1]
    assert evaluation.truth.shape == (13, 12) and evaluation.truth[0, 0] == 360  # January 1959
    assert list(evaluation.tiled_origins) == [120, 132]
    positions, values = evaluation.tiled("naive")
    assert list(positions) == list(range(120, 144)) and list(values[:12]) == [337.0] * 12  # December 1958


def test_tiled_origins_cover_the_test_part():
    assert list(tiled_origins(100, 130, 12)) == [100, 112, 118]
    assert list(tiled_origins(100, 124, 12)) == [100, 112]


def test_injected_anomalies_touch_only_the_test_part_and_are_labelled():
    series = load_series("sine")
    injected = inject_anomalies(series, seed=4)
    changed = injected.values != series.values
    assert (changed <= injected.labels).all()  # every change is labelled
    assert not injected.labels[: series.val_end].any()
    kinds = sorted(item.kind for item in injected.injections)
    assert kinds == sorted(["spike", "level shift", "dropout"] * 5)  # 120 test values: 5 of each kind
    for item in injected.injections:
        assert injected.labels[item.start: item.end].all()
        if item.kind == "dropout":
            assert (injected.values[item.start: item.end] == 0).all()
    again = inject_anomalies(series, seed=4)
    assert np.array_equal(again.values, injected.values)


def test_precision_recall_f1_by_hand():
    flags = np.array([1, 1, 0, 0, 1, 0], dtype=bool)
    labels = np.array([1, 0, 1, 0, 1, 1], dtype=bool)
    precision, recall, f1 = precision_recall_f1(flags, labels)
    assert (precision, recall) == (pytest.approx(2 / 3), 0.5) and f1 == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))


@pytest.fixture(scope="module")
def sine_run() -> Trainer:
    return _train(RunConfig(task="forecast", task_options={"series": "sine", "horizon": 1}, length=40, archs=("lstm",),
                            hidden_size=16, learning_rate=1e-2, batch_size=32, max_steps=150, eval_every=50,
                            probe_every=75, stop_when_solved=False, seed=0))


def test_an_lstm_forecaster_detects_anomalies_better_than_the_naive_one(sine_run):
    assert sine_run.runs["lstm"].eval_metric[-1] < sine_run.baseline
    models = {"lstm": ("LSTM", sine_run.runs["lstm"].model)}
    f1 = {"lstm": [], "naive": []}
    for seed in range(3):
        report = detect_anomalies(sine_run.task, 40, models, seed)
        for name, detection in report.detections.items():
            assert not (detection.val_scores > detection.threshold).any()  # the threshold: no alarm on validation
            assert detection.flags.shape == report.test_labels.shape
            f1[name].append(detection.f1)
    assert np.mean(f1["lstm"]) > np.mean(f1["naive"])
