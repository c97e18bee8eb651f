"""Figures of the Gradient flow lab: log axes with units, architecture colours, distances counted from the end."""
import numpy as np

from lstm_viz.figures import gradient as gfig
from lstm_viz.figures.style import ARCH_COLOURS


def test_gradient_vs_distance_reverses_time_and_divides_by_the_last_step():
    norms = np.array([1e-40, 1e-20, 1e-3, 0.5])
    figure = gfig.gradient_vs_distance([gfig.FlowCurve("rnn", "RNN", norms, 100, norms * 2)])
    assert figure.layout.yaxis.type == "log" and "ratio" in figure.layout.yaxis.title.text
    assert "d = T−1−t" in figure.layout.xaxis.title.text
    trained = next(t for t in figure.data if t.name == "RNN at step 100")
    np.testing.assert_allclose(trained.y, [1.0, 2e-3, 2e-20, 2e-40])
    assert trained.line.color == ARCH_COLOURS["rnn"]
    assert trained.y.dtype == np.float64  # below float32's range
    absolute = gfig.gradient_vs_distance([gfig.FlowCurve("lstm", "LSTM", norms, 5)], relative=False)
    np.testing.assert_allclose(absolute.data[0].y, norms[::-1])


def test_heatmaps_share_one_colour_range_and_hover_the_exact_ratio():
    series = {
        "rnn": ("RNN", [0, 50], np.array([[1e-30, 1e-10, 1.0], [1e-50, 1e-20, 2.0]])),
        "lstm": ("LSTM", [0, 50, 100], np.array([[1e-5, 1e-2, 1.0]] * 3)),
    }
    figure = gfig.gradient_heatmaps(series, marked_step=50)
    heatmaps = [t for t in figure.data if t.type == "heatmap"]
    assert len(heatmaps) == 2 and heatmaps[0].zmin == heatmaps[1].zmin == -51 and heatmaps[0].zmax == 0
    # Row "step 50" of the RNN, by distance and relative to its last step (2.0): 1, 1e-20 / 2, 1e-50 / 2.
    np.testing.assert_allclose(heatmaps[0].z[1], np.log10([1.0, 5e-21, 5e-51]))
    np.testing.assert_allclose(heatmaps[0].customdata[1], [1.0, 5e-21, 5e-51])
    assert "ratio %{customdata" in heatmaps[0].hovertemplate


def test_rnn_jacobian_figure_fits_its_axis_to_the_measured_lines():
    step = np.array([0.5, 0.5, 0.5])
    product = np.array([1.0, 0.5, 0.2, 0.05])
    bound = np.concatenate([[1.0], np.cumprod(step)])
    figure = gfig.rnn_jacobian_figure(step, product, bound, spectral_radius=40.0, title="t")
    names = [t.name for t in figure.data]
    assert any("upper bound" in n for n in names) and any("actual product" in n for n in names)
    low, high = figure.layout.yaxis.range
    assert low < np.log10(0.05) and high < 3  # 40^d would reach 1e4.8: left off the axis, not squashing the rest
    assert figure.layout.yaxis.type == "log"


def test_clipping_figure_has_two_log_panels_and_a_legend_per_run():
    steps = np.arange(1, 6)
    figure = gfig.clipping_figure([
        ("clipping at 1", steps, np.ones(5), np.full(5, 3.0), "solid"),
        ("no clipping (diverged)", steps, np.array([1, 10, 1e9, np.inf, np.nan]), np.full(5, 1e6), "dash"),
    ], loss_name="MSE", title="t")
    assert figure.layout.yaxis.type == "log" and figure.layout.yaxis2.type == "log"
    assert sum(t.showlegend is not False for t in figure.data) == 2
    diverged = figure.data[2]
    assert np.isnan(diverged.y[3]) and np.isnan(diverged.y[4])  # nothing infinite reaches the log axis


def test_animation_has_one_frame_per_probe_and_keeps_an_early_stopper_at_its_last_probe():
    series = {
        "gru": ("GRU", [0, 50], np.array([[1e-9, 1e-3, 1.0], [0.5, 0.8, 1.0]])),
        "lstm": ("LSTM", [0, 50, 100], np.array([[1e-9, 1e-3, 1.0], [1e-6, 1e-2, 1.0], [0.2, 0.4, 1.0]])),
    }
    figure = gfig.gradient_animation(series)
    assert [frame.name for frame in figure.frames] == ["0", "50", "100"]
    assert [step.label for step in figure.layout.sliders[0].steps] == ["0", "50", "100"]
    last = figure.frames[-1]
    np.testing.assert_allclose(last.data[0].y, [1.0, 0.8, 0.5])  # GRU stopped at 50
    np.testing.assert_allclose(last.data[1].y, [1.0, 0.4, 0.2])
    assert list(last.traces) == [1, 3]  # only the solid curves move; the dashed init curves stay
    assert figure.layout.updatemenus[0].buttons[0].method == "animate"
