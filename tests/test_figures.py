"""The figures carry the data they claim to, with titles, labelled axes and fixed colours."""
import json

import numpy as np
import pytest

from lstm_viz.figures import style, training as figures

RNG = np.random.default_rng(0)


def _axis_title(figure, axis="xaxis"):
    return figure.layout[axis].title.text


def _trace(figure, name):
    matches = [t for t in figure.data if t.name == name]
    assert len(matches) == 1, [t.name for t in figure.data]
    return matches[0]


@pytest.fixture
def loss_figure():
    series = [
        figures.LossSeries("rnn", "RNN (tanh)", [1, 2, 3], [0.3, 0.2, 0.18], [0, 2, 3], [0.4, 0.19, 0.17]),
        figures.LossSeries("lstm", "LSTM", [1, 2, 3], [0.3, 0.1, 0.01], [0, 2, 3], [0.4, 0.05, 0.008]),
    ]
    return figures.loss_curves(series, baseline=1 / 6, solved_threshold=0.01, metric_name="test MSE", max_steps=10)


def test_loss_curves_titles_log_axis_and_test_points(loss_figure):
    assert loss_figure.layout.title.text
    assert _axis_title(loss_figure) == "training step"
    assert "MSE" in _axis_title(loss_figure, "yaxis") and "log" in _axis_title(loss_figure, "yaxis")
    assert loss_figure.layout.yaxis.type == "log"
    lstm = _trace(loss_figure, "LSTM")
    np.testing.assert_array_equal(lstm.x, [0, 2, 3])
    np.testing.assert_allclose(lstm.y, [0.4, 0.05, 0.008], rtol=1e-6)
    assert lstm.line.color == style.ARCH_COLOURS["lstm"]
    assert _trace(loss_figure, "RNN (tanh)").line.color == style.ARCH_COLOURS["rnn"]
    assert list(loss_figure.layout.xaxis.range) == [0, 10]


def test_loss_curves_baseline_and_threshold_lines(loss_figure):
    baseline = next(t for t in loss_figure.data if t.name.startswith("no-memory baseline"))
    assert list(baseline.y) == [pytest.approx(1 / 6)] * 2
    assert baseline.line.dash == "dash"
    # Named in the legend, with its value; no label on the plot where it would cover the curves.
    assert baseline.name == "no-memory baseline (0.167)" and baseline.showlegend is not False
    assert not loss_figure.layout.annotations
    solved = next(t for t in loss_figure.data if t.name.startswith("solved"))
    assert list(solved.y) == [0.01, 0.01]


def test_loss_curves_hide_non_finite_values_on_the_log_axis():
    series = [figures.LossSeries("rnn", "RNN", [1, 2, 3], [0.2, float("nan"), float("inf")], [3], [float("inf")])]
    figure = figures.loss_curves(series, baseline=1 / 6, solved_threshold=0.01, metric_name="MSE")
    train = _trace(figure, "RNN train loss")
    assert train.y[0] == pytest.approx(0.2) and np.isnan(train.y[1]) and np.isnan(train.y[2])
    assert np.isnan(_trace(figure, "RNN").y[0])


def test_long_train_loss_is_binned_to_bound_the_payload():
    steps = np.arange(1, 20_001)
    series = [figures.LossSeries("lstm", "LSTM", steps, np.full(steps.shape, 0.5), [], [])]
    figure = figures.loss_curves(series, baseline=1 / 6, solved_threshold=0.01, metric_name="MSE")
    train = _trace(figure, "LSTM train loss")
    assert len(train.y) == style.MAX_CURVE_POINTS
    assert train.x[-1] == 20_000
    np.testing.assert_allclose(train.y, 0.5)


def test_gradient_flow_relative_to_the_last_step_keeps_tiny_norms():
    norms = np.array([1e-60, 1e-30, 1e-3, 2e-3])
    figure = figures.gradient_flow([figures.GradientCurve("lstm", "LSTM", norms, norms * 3, step=50)])
    assert figure.layout.yaxis.type == "log"
    assert "time step" in _axis_title(figure)
    assert "log scale" in _axis_title(figure, "yaxis")
    now = _trace(figure, "LSTM (step 50)")
    np.testing.assert_allclose(now.y, norms / 2e-3)
    assert now.y.dtype == np.float64  # float32 would flush 5e-58 to zero
    initial = _trace(figure, "LSTM at initialisation")
    assert initial.line.dash == "dash"
    np.testing.assert_allclose(initial.y, norms / 2e-3)
    absolute = figures.gradient_flow([figures.GradientCurve("rnn", "RNN", norms)], relative=False)
    np.testing.assert_allclose(absolute.data[0].y, norms)
    assert absolute.data[0].line.color == style.ARCH_COLOURS["rnn"]


def test_gradient_reach_plots_one_ratio_per_checkpoint():
    figure = figures.gradient_reach({"lstm": ("LSTM", [0, 50, 100], [1e-20, 1e-10, 0.05])}, distance=50)
    np.testing.assert_array_equal(figure.data[0].x, [0, 50, 100])
    np.testing.assert_allclose(figure.data[0].y, [1e-20, 1e-10, 0.05])
    # The distance is named where the chart says what the ratio is: its subtitle (the short y title says "ratio").
    assert "T−50" in figure.layout.title.subtitle.text and figure.layout.yaxis.type == "log"


def _lstm_example(steps=30, units=8):
    arrays = {
        "input_gate": RNG.random((steps, units)),
        "forget_gate": RNG.random((steps, units)),
        "candidate": RNG.uniform(-1, 1, (steps, units)),
        "output_gate": RNG.random((steps, units)),
        "cell_state": RNG.normal(0, 2, (steps, units)),
    }
    markers = np.zeros(steps)
    markers[[4, 20]] = 1.0
    channels = {"value": RNG.random(steps).astype(np.float32), "marker": markers.astype(np.float32)}
    return arrays, channels


def test_gate_heatmaps_show_the_trace_arrays_with_gate_and_signed_colour_scales():
    arrays, channels = _lstm_example()
    figure = figures.gate_heatmaps(arrays, channels, title="LSTM at step 0")
    heatmaps = [t for t in figure.data if t.type == "heatmap"]
    assert len(heatmaps) == 5
    for heatmap, name in zip(heatmaps, arrays):
        np.testing.assert_allclose(heatmap.z, arrays[name].T.astype(np.float32))
        assert heatmap.z.dtype == np.float32
        assert figures.TRACE_LABELS[name] in heatmap.hovertemplate
    forget = heatmaps[1]
    assert (forget.zmin, forget.zmax) == (0.0, 1.0) and forget.colorscale[0][1] == "#440154"  # Viridis
    cell = heatmaps[4]
    assert cell.zmid == 0.0 and cell.zmax == pytest.approx(np.abs(arrays["cell_state"]).max(), rel=1e-6)
    assert "LSTM at step 0" in figure.layout.title.text
    bottom_axis = figure.layout[f"xaxis{len(heatmaps) + 1}"]
    assert bottom_axis.title.text == "time step t"


def test_gate_heatmaps_draw_the_input_and_highlight_the_marked_steps():
    arrays, channels = _lstm_example()
    figure = figures.gate_heatmaps(arrays, channels)
    value_line = figure.data[0]
    np.testing.assert_allclose(value_line.y, channels["value"])
    marked = figure.data[1]
    np.testing.assert_array_equal(marked.x, [4, 20])
    np.testing.assert_allclose(marked.y, channels["value"][[4, 20]])
    guides = sorted(shape.x0 for shape in figure.layout.shapes)
    assert guides == [4.0, 20.0]


def test_gate_heatmaps_cap_the_payload_for_large_models():
    steps, units = 1000, 512
    arrays = {"forget_gate": RNG.random((steps, units)).astype(np.float32)}
    arrays["forget_gate"][:, 7] = np.linspace(0, 1, steps)  # vary one unit a lot: it must be kept
    figure = figures.gate_heatmaps(arrays, {"token": np.zeros(steps, dtype=np.float32)})
    heatmap = next(t for t in figure.data if t.type == "heatmap")
    assert heatmap.z.shape[0] == style.MAX_HEATMAP_UNITS
    assert heatmap.z.shape[1] <= style.MAX_HEATMAP_STEPS
    assert len(figure.to_json()) < 200_000


def test_cell_state_trajectories_pick_the_most_active_units():
    cell_state = np.zeros((40, 10), dtype=np.float32)
    cell_state[:, 3] = np.linspace(-2, 2, 40)
    cell_state[:, 8] = np.sin(np.arange(40))
    _, channels = _lstm_example(steps=40)
    figure = figures.cell_state_trajectories(cell_state, channels, count=2)
    lines = [t for t in figure.data if t.name and t.name.startswith("unit")]
    assert [t.name for t in lines] == ["unit 3", "unit 8"]
    np.testing.assert_allclose(lines[0].y, cell_state[:, 3])
    assert figure.layout.title.text
    assert figure.layout.xaxis2.title.text == "time step t"


def test_forget_gate_over_training_shows_mean_and_highlights_memory_units():
    per_unit = np.array([[0.5, 0.5, 0.5, 0.5], [0.4, 0.3, 0.95, 0.4], [0.35, 0.3, 0.99, 0.4]])
    figure = figures.forget_gate_over_training([0, 50, 100], per_unit, highlight=1)
    mean = _trace(figure, "mean over units")
    np.testing.assert_allclose(mean.y, per_unit.mean(axis=1), rtol=1e-6)
    np.testing.assert_array_equal(mean.x, [0, 50, 100])
    highlighted = [t for t in figure.data if t.showlegend is not False and t.name.startswith("unit")]
    assert [t.name for t in highlighted] == ["unit 2"]
    # The other units share one trace, separated by gaps, each point tagged with its unit for the hover.
    others = _trace(figure, "other units")
    assert len(figure.data) == 3
    np.testing.assert_array_equal(others.customdata, [0] * 4 + [1] * 4 + [3] * 4)
    y = np.asarray(others.y, dtype=float)
    np.testing.assert_allclose(y[~np.isnan(y)], per_unit[:, [0, 1, 3]].T.ravel(), rtol=1e-6)
    assert np.isnan(y[3::4]).all()
    assert _axis_title(figure) == "training step"
    assert list(figure.layout.yaxis.range) == [0, 1.02]


def test_forget_gate_per_unit_is_sorted_with_unit_numbers_in_hover():
    figure = figures.forget_gate_per_unit(np.array([0.2, 0.9, 0.5]), step=10)
    bars = figure.data[0]
    np.testing.assert_allclose(bars.y, [0.9, 0.5, 0.2], rtol=1e-6)
    np.testing.assert_array_equal(bars.customdata, [1, 2, 0])
    assert "step 10" in figure.layout.title.text


def test_figures_serialise_compactly_as_binary_arrays():
    arrays, channels = _lstm_example(steps=100, units=48)
    payload = json.loads(figures.gate_heatmaps(arrays, channels).to_json())
    heatmap = next(t for t in payload["data"] if t["type"] == "heatmap")
    assert heatmap["z"]["dtype"] == "f4"  # base64 float32, not a JSON list of float64
    assert len(json.dumps(payload["layout"]["template"])) < 500


def test_loss_axis_keeps_a_diverged_run_from_squashing_the_others():
    series = [figures.LossSeries("rnn", "RNN (tanh)", [1, 2, 3], [0.2, 1e20, float("inf")], [2], [1e30]),
              figures.LossSeries("lstm", "LSTM", [1, 2, 3], [0.2, 0.1, 0.05], [2], [0.08])]
    figure = figures.loss_curves(series, baseline=1 / 6, solved_threshold=0.01, metric_name="MSE")
    low, high = figure.layout.yaxis.range
    assert high == pytest.approx(np.log10(100 / 6 * 2))  # capped at 100x the baseline
    assert low == pytest.approx(np.log10(0.005))  # half the solved threshold, the lowest thing drawn


def test_heatmap_colour_range_fixes_gates_and_tanh_traces_and_centres_the_rest():
    values = np.array([[0.2, -3.0], [2.5, 0.1]])
    assert style.heatmap_colour_range("forget_gate", values) == dict(colorscale="Viridis", zmin=0.0, zmax=1.0)
    assert style.heatmap_colour_range("hidden_state", values) == dict(colorscale="RdBu", zmid=0.0, zmin=-1.0, zmax=1.0)
    assert style.heatmap_colour_range("cell_state", values) == dict(colorscale="RdBu", zmid=0.0, zmin=-3.0, zmax=3.0)
    assert style.value_range("cell_state", np.zeros((3, 2))) == (-1e-6, 1e-6)  # a flat state still has a range


def test_gate_heatmaps_give_each_signed_array_its_own_colour_range():
    arrays, channels = _lstm_example()
    arrays = {"forget_gate": arrays["forget_gate"], "cell_state": arrays["cell_state"],
              "preactivation": 40.0 * arrays["cell_state"]}
    heatmaps = [t for t in figures.gate_heatmaps(arrays, channels).data if t.type == "heatmap"]
    largest = float(np.abs(arrays["cell_state"]).max())
    assert heatmaps[1].zmax == pytest.approx(largest, rel=1e-6)  # not washed out by the 40x larger panel below
    assert heatmaps[2].zmax == pytest.approx(40.0 * largest, rel=1e-6)
