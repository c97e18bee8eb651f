"""The lab's first three practices at the engine (lstm_viz.practices): the fixed-data loop restores exactly its best
checkpoint and gives every arm the same batches; the scaler never sees the validation or test part; the naive and
statistical forecasts against independent computations; every takeaway from constructed results, including the
cases where the practice did not help. Models here are tiny; the whole file runs in a few seconds."""
import csv
import warnings

import numpy as np
import pytest
import torch

from lstm_viz.core.model import ModelConfig, build_model
from lstm_viz.data.series import Series, load_series, origins, truth
from lstm_viz.practices import baseline, classical, normalisation, overfitting
from lstm_viz.practices.fitting import FitResult, FitSettings, batch_order, fit, mean_loss
from lstm_viz.rules import paths


def _mse(outputs, targets):
    return ((outputs - targets) ** 2).mean(dim=-1)


def _noisy_windows(count, seed):
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(count, 6, 1, generator=generator)
    return inputs, inputs[:, -2:, 0] + 0.5 * torch.randn(count, 2, generator=generator)


# ----- the fixed-data loop -----
def test_restoring_the_best_checkpoint_gives_exactly_its_validation_loss():
    train, val = _noisy_windows(24, 1), _noisy_windows(40, 2)
    model = build_model(ModelConfig(arch="lstm", input_size=1, output_size=2, hidden_size=24), seed=0)
    result = fit(model, _mse, train, val, FitSettings(steps=150, batch_size=8, learning_rate=3e-2, eval_every=5))
    assert result.restored
    assert result.best_step < 150, "the small noisy set should have overfitted before the end"
    assert result.val_loss[-1] > result.best_val_loss
    assert min(result.val_loss) == result.best_val_loss == result.val_loss[result.steps.index(result.best_step)]
    assert mean_loss(model, _mse, *val) == result.best_val_loss  # exactly, not approximately


def test_every_arm_sees_the_same_batches_so_early_stopping_is_the_plain_run_cut_short():
    train, val = _noisy_windows(24, 1), _noisy_windows(40, 2)
    config = ModelConfig(arch="gru", input_size=1, output_size=2, hidden_size=16)
    base = FitSettings(steps=120, batch_size=8, learning_rate=3e-2, eval_every=5, restore_best=False)
    plain = fit(build_model(config, 0), _mse, train, val, base)
    early = fit(build_model(config, 0), _mse, train, val, FitSettings(**{**base.__dict__, "patience": 3}))
    assert early.stopped_early and len(early.steps) < len(plain.steps)
    assert early.val_loss == plain.val_loss[:len(early.steps)]
    assert early.steps[-1] - early.best_step == 3 * 5


def test_batches_are_whole_shuffled_epochs_from_the_seed_alone():
    order = batch_order(10, FitSettings(steps=5, batch_size=4, seed=3))
    assert order.shape == (5, 4)
    assert sorted(order.ravel()[:8].tolist() + order.ravel()[8:10].tolist()) == list(range(10))
    assert (order == batch_order(10, FitSettings(steps=5, batch_size=4, seed=3, dropout=0.5))).all()


def test_a_stop_request_ends_the_loop_with_nothing():
    train = _noisy_windows(8, 1)
    model = build_model(ModelConfig(arch="rnn", input_size=1, output_size=2, hidden_size=4), 0)
    assert fit(model, _mse, train, train, FitSettings(steps=50), should_stop=lambda: True) is None


# ----- normalisation: the scaler sees the training part only -----
def test_the_scaler_is_the_training_part_s_mean_and_standard_deviation():
    series = load_series("sunspots")
    with open(paths.DATA_DIR / "sunspots_yearly.csv", newline="") as handle:
        values = [float(row[1]) for row in list(csv.reader(handle))[1:]]
    train = values[: len(values) - 80]  # 40 validation and 40 test years
    mean = sum(train) / len(train)
    std = (sum((v - mean) ** 2 for v in train) / len(train)) ** 0.5
    arm = normalisation.prepare_arm(series, 24, 5, standardise=True)
    assert arm.scaler.mean == pytest.approx(mean, rel=1e-12) and arm.scaler.std == pytest.approx(std, rel=1e-12)


def test_the_scaler_and_training_windows_do_not_change_when_the_held_out_parts_do():
    series = load_series("airline")
    changed = series.values.copy()
    changed[series.train_end:] *= 1000.0  # validation and test parts only
    before = normalisation.prepare_arm(series, 24, 12, standardise=True)
    after = normalisation.prepare_arm(series.with_values(changed), 24, 12, standardise=True)
    assert before.scaler == after.scaler
    assert torch.equal(before.train[0], after.train[0]) and torch.equal(before.train[1], after.train[1])
    assert not torch.equal(before.test_inputs, after.test_inputs)  # the test part did change
    nan_tail = np.concatenate([series.values[: series.train_end], np.full(series.val_size + series.test_size, np.nan)])
    assert np.isfinite([normalisation.fit_standardiser(nan_tail, series.train_end).mean]).all()


def test_the_raw_arm_is_not_scaled():
    arm = normalisation.prepare_arm(load_series("co2"), 8, 3, standardise=False)
    values = load_series("co2").values
    first = origins(load_series("co2"), "train", 8, 3)[0]
    assert arm.train[0][0, :, 0].tolist() == pytest.approx(values[first - 8:first].tolist())


# ----- the baselines against independent computations -----
def test_the_naive_forecast_s_error_by_hand_and_the_statistical_fits_on_sunspots():
    settings = baseline.BaselineSettings(series=("sunspots",), networks=())
    result = baseline.run_series("sunspots", settings, lambda: False, lambda fraction: None)
    with open(paths.DATA_DIR / "sunspots_yearly.csv", newline="") as handle:
        values = [float(row[1]) for row in list(csv.reader(handle))[1:]]
    errors = []
    for origin in range(len(values) - 40, len(values) - 5 + 1):  # every test origin, window 24, horizon 5
        errors += [abs(values[origin - 1] - values[origin + h]) for h in range(5)]
    naive = next(m for m in result.methods if m.method == "naive")
    assert naive.mae == pytest.approx(sum(errors) / len(errors), rel=1e-12)
    arima = next(m for m in result.methods if m.method == "arima")
    assert arima.status == "ok" and arima.mae < 0.6 * naive.mae  # the cycle is what ARIMA's AR terms capture
    # statsmodels' own AR order selection (conditional least squares, not the state-space fit) agrees on the lags.
    from statsmodels.tsa.ar_model import ar_select_order

    series = load_series("sunspots")
    lags = ar_select_order(series.values[: series.val_end], 10, ic="aic", trend="c").ar_lags
    assert arima.label == f"ARIMA({max(lags)},0,0)" and lags == list(range(1, max(lags) + 1))


def _series(values, period=None, size=10):
    return Series("made", "made", np.asarray(values, dtype=float), tuple(map(str, range(len(values)))), "u", period,
                  size, size)


def test_ets_and_arima_extend_a_line_and_repeat_a_season():
    steps = np.arange(80)
    line = _series(5 + 2 * steps + 0.01 * np.sin(1.3 * steps))
    season = _series(10 + np.tile([1.0, 3.0, 2.0, 0.0], 20) + 0.001 * np.cos(0.7 * steps), period=4, size=12)
    for series, horizon in ((line, 3), (season, 4)):
        at = origins(series, "test", 5, horizon)
        actual = truth(series.values, at, horizon)
        naive_error = np.abs(series.values[at - 1][:, None] - actual).mean()
        assert naive_error > 1.0
        for method in ("ets", "arima"):
            made = classical.classical_forecast(method, series, at, horizon)
            assert made.status == "ok", made.note
            assert np.abs(made.forecasts - actual).mean() < 0.05, (method, made.label)


def test_a_failed_or_unconverged_fit_is_reported_never_raised(monkeypatch):
    series = load_series("co2")
    at = origins(series, "test", 8, 3)
    candidates, label, _, forecast = classical.METHODS["ets"]

    def broken(values, spec):
        raise np.linalg.LinAlgError("singular matrix")

    monkeypatch.setitem(classical.METHODS, "ets", (candidates, label, broken, forecast))
    failed = classical.classical_forecast("ets", series, at, 3)
    assert failed.status == "failed" and failed.forecasts is None and "singular matrix" in failed.note

    from statsmodels.tools.sm_exceptions import ConvergenceWarning
    real_fit = classical.METHODS["arima"][2]

    def unconverged(values, spec):
        warnings.warn("Maximum Likelihood optimization failed to converge.", ConvergenceWarning)
        return real_fit(values, spec)

    arima = classical.METHODS["arima"]
    monkeypatch.setitem(classical.METHODS, "arima", (arima[0], arima[1], unconverged, arima[3]))
    warned = classical.classical_forecast("arima", series, at, 3)
    assert warned.status == "warning" and "converge" in warned.note and warned.forecasts is not None


# ----- takeaways from constructed results -----
def _arm(name, val_loss, steps, best_step=None, restored=False, train_end=0.01, test_mae=20.0):
    curve = FitResult(steps=list(steps), train_loss=[1.0] * (len(steps) - 1) + [train_end], val_loss=list(val_loss))
    curve.best_val_loss = min(val_loss)
    curve.best_step = steps[val_loss.index(curve.best_val_loss)] if best_step is None else best_step
    curve.restored, curve.stopped_step = restored, steps[-1]
    reported = (curve.best_val_loss, curve.best_step) if restored else (val_loss[-1], steps[-1])
    return overfitting.ArmResult(name, curve, reported[0], reported[1], test_mae)


def _overfit(arms):
    return overfitting.OverfitResult(overfitting.OverfitSettings(steps=400), "Sunspots", "sunspot number", 200, 36,
                                     {arm.arm: arm for arm in arms})


def test_the_overfitting_takeaway_names_the_best_practice_and_the_plain_run_s_divergence():
    steps = [0, 100, 200, 300, 400]
    result = _overfit([
        _arm("none", [2.0, 0.41, 0.5, 0.6, 0.73], steps, test_mae=30.0),
        _arm("dropout", [2.0, 0.45, 0.5, 0.52, 0.55], steps),
        _arm("weight_decay", [2.0, 0.5, 0.6, 0.7, 0.75], steps),
        _arm("early_stopping", [2.0, 0.41, 0.5], steps[:3], restored=True, test_mae=21.0),
        _arm("all", [2.0, 0.44, 0.46], steps[:3], restored=True),
    ])
    assert overfitting.overfitting_takeaway(result) == (
        "With none of them the training loss fell to 0.01 while the validation loss rose from 0.41 (step 100) to "
        "0.73 (step 400). Early stopping kept it lowest: 0.41 against 0.73 without (best step 100 of 400, "
        "restored; test MAE 21 against 30 sunspot number). Also below: dropout 0.55, all three 0.44. "
        "No help from weight decay (0.75).")


def test_the_overfitting_takeaway_says_so_when_nothing_helped_and_nothing_overfitted():
    steps = [0, 200, 400]
    result = _overfit([
        _arm("none", [1.0, 0.5, 0.49], steps),
        _arm("dropout", [1.0, 0.6, 0.52], steps),
        _arm("weight_decay", [1.0, 0.5, 0.49], steps),
        _arm("early_stopping", [1.0, 0.5, 0.49], steps, restored=True),
        _arm("all", [1.0, 0.55, 0.5], steps, restored=True),
    ])
    assert overfitting.overfitting_takeaway(result) == (
        "With none of them the validation loss ended at 0.49, within 5% of its best (0.49): this run did not "
        "overfit. None of them helped: dropout (0.52), weight decay (0.49), early stopping (0.49), all three (0.5).")


def _norm(raw_mae, standard_mae):
    def arm(name, value):
        return normalisation.NormArm(name, normalisation.Standardiser(), value, value, 10, 1.0, [0], [1.0],
                                     np.zeros((1, 1)))

    return normalisation.NormResult(normalisation.NormSettings(), "Sunspots", "sunspot number", 24, 5, np.zeros(1),
                                    np.zeros((1, 1)), 59.9,
                                    {"raw": arm("raw", raw_mae), "standardised": arm("standardised", standard_mae)})


def test_the_normalisation_takeaway_in_each_case():
    assert normalisation.normalisation_takeaway(_norm(40.5, 22.5)) == (
        "Standardising cut the LSTM's test MAE from 40.5 to 22.5 sunspot number (1.8x smaller); the naive "
        "forecast's is 59.9.")
    assert normalisation.normalisation_takeaway(_norm(20.0, 25.0)) == (
        "Standardising did not help here: the LSTM's test MAE was 25 sunspot number standardised against 20 raw; "
        "the naive forecast's is 59.9.")
    assert normalisation.normalisation_takeaway(_norm(20.0, 19.5)) == (
        "Standardising made no clear difference: the LSTM's test MAE was 19.5 sunspot number standardised and 20 "
        "raw (within 5%); the naive forecast's is 59.9.")


def _method(method, kind, value, seconds=0.5):
    return baseline.MethodResult(method, {"arima": "ARIMA(2,0,0)", "gru": "GRU"}.get(method, method), kind, value,
                                 value, seconds)


def _series_result(name, methods):
    return baseline.SeriesResult(name, name.capitalize(), "u", 24, 5, np.zeros(3), methods)


def test_the_baseline_takeaways_name_the_winner_and_the_best_rival_and_failed_fits():
    statistical = _series_result("airline", [_method("naive", "naive", 77.8), _method("arima", "statistical", 15.5, 1.0),
                                             _method("gru", "network", 20.0, 0.9), _method("ets", "statistical", None)])
    network = _series_result("sunspots", [_method("naive", "naive", 59.9), _method("arima", "statistical", 28.7, 0.2),
                                          _method("gru", "network", 20.9, 0.91)])
    assert baseline.series_takeaway(statistical) == (
        "Airline: ARIMA(2,0,0) won with a test MAE of 15.5 u (1 s); the best network, GRU, had 20 (0.9 s); "
        "ets failed to fit.")
    assert baseline.series_takeaway(network) == (
        "Sunspots: GRU won with a test MAE of 20.9 u (0.91 s); the best non-network, ARIMA(2,0,0), had 28.7 (0.2 s).")
    both = baseline.BaselineResult(baseline.BaselineSettings(), [statistical, network])
    assert baseline.baseline_takeaway(both) == (
        "Lowest test MAE: ARIMA on airline; the GRU on sunspots. So a network won on 1 of 2 series.")
    alone = baseline.BaselineResult(baseline.BaselineSettings(), [statistical])
    assert baseline.baseline_takeaway(alone) == "Lowest test MAE: ARIMA on airline. So no network won."
    three = [_series_result(name, [_method("naive", "naive", 9.0), _method("arima", "statistical", 1.0),
                                   _method("lstm", "network", 2.0)]) for name in ("airline", "co2", "sunspots")]
    assert baseline.baseline_takeaway(baseline.BaselineResult(baseline.BaselineSettings(), three)) == (
        "Lowest test MAE: ARIMA on airline, co2 and sunspots. So no network won on any of the 3 series.")
    networks = [_series_result(name, [_method("naive", "naive", 9.0), _method("gru", "network", 1.0)])
                for name in ("co2", "sunspots")]
    assert baseline.baseline_takeaway(baseline.BaselineResult(baseline.BaselineSettings(), networks)) == (
        "Lowest test MAE: the GRU on co2 and sunspots. So a network won on both series.")


@pytest.mark.parametrize("settings", [
    overfitting.OverfitSettings(series="nope"), overfitting.OverfitSettings(dropout=1.0),
    normalisation.NormSettings(arch="transformer"), baseline.BaselineSettings(series=()),
    baseline.BaselineSettings(steps=0),
])
def test_settings_outside_their_ranges_are_refused_with_a_message(settings):
    from lstm_viz.rules.errors import LstmVizError

    with pytest.raises(LstmVizError):
        settings.validate()


def test_the_baseline_chart_draws_a_failed_fit_as_no_bar_and_stars_the_winner():
    from lstm_viz.figures.baseline import baseline_figure, seconds_text

    series = _series_result("airline", [_method("naive", "naive", 80.0, 5e-5), _method("ets", "statistical", None),
                                        _method("arima", "statistical", 16.0, 1.2), _method("gru", "network", 20.0)])
    figure = baseline_figure(baseline.BaselineResult(baseline.BaselineSettings(), [series])).to_plotly_json()
    bars = figure["data"][0]
    texts = dict(zip(bars["y"], bars["text"]))
    assert texts["ets"] == "fit failed" and dict(zip(bars["y"], bars["x"]))["ets"] == 0.0
    assert texts["ARIMA(2,0,0)"] == "16 · 1.2 s ★" and texts["naive"] == "80 · <1 ms"
    assert dict(zip(bars["y"], bars["x"]))["GRU"] == pytest.approx(20.0 / 80.0)
    assert seconds_text(0.035) == "35 ms"
