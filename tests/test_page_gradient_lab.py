"""The Gradient flow lab through AppTest: the bundled run (nothing trained in the session) and a tiny session run,
every tab and knob, the probe slider, and the view kept in the URL. Numbers on the page are checked against the
run's checkpoints and the engine called directly."""
import copy

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from lstm_viz.analysis import jacobians
from lstm_viz.runs.bundled import load_bundled_run
from tests import app_support
from tests.app_support import clear_caches, open_from_home, tiny_settings, train_until_done  # noqa: F401
from tests.test_app import plotly_charts

TIMEOUT = 120
PAGE = "pages/gradient_lab.py"


def lab_page(at: AppTest | None = None, **query) -> AppTest:
    if at is None:
        return app_support.open_page(PAGE, query, timeout=TIMEOUT)  # a link straight to the page
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def open_tab(at: AppTest, tab: str) -> AppTest:
    at.session_state["glab_tab"] = tab
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def chart(at: AppTest, prefix: str) -> dict:
    matches = [figure for title, figure in plotly_charts(at).items() if title.startswith(prefix)]
    assert len(matches) == 1, list(plotly_charts(at))
    return matches[0]


def trace_named(figure: dict, prefix: str) -> dict:
    return next(t for t in figure["data"] if t.get("name", "").startswith(prefix))


def y_values(trace: dict) -> np.ndarray:
    """Plotly 6+ sends numpy arrays as typed base64 blobs; AppTest's JSON has them as {dtype, bdata}."""
    import base64

    y = trace["y"]
    if isinstance(y, dict):
        return np.frombuffer(base64.b64decode(y["bdata"]), dtype=np.dtype(y["dtype"])).astype(np.float64)
    return np.array([np.nan if v is None else v for v in y], dtype=np.float64)


def test_bundled_run_over_training_and_the_probe_slider():
    at = lab_page()
    trainer = load_bundled_run()
    assert at.title[0].value == "Gradient flow lab"
    assert any("bundled run" in c.value for c in at.caption)
    slider = at.select_slider(key="glab_step")
    steps = sorted({c.step for run in trainer.runs.values() for c in run.checkpoints})
    assert [int(o) for o in slider.options] == steps and slider.value == steps[-1]
    flow = chart(at, "Gradient reaching d steps back")
    lstm_run = trainer.runs["lstm"]
    trained = lstm_run.checkpoints[-1].gradient_flow.grad_norm_per_step[0]
    shown = y_values(trace_named(flow, f"LSTM at step {lstm_run.checkpoints[-1].step}"))
    np.testing.assert_allclose(shown, trained[::-1] / trained[-1], rtol=1e-12)
    # The table quotes 50 steps back at init and at the probe, straight from the checkpoints.
    table = at.dataframe[0].value.set_index("cell")
    init = lstm_run.checkpoints[0].gradient_flow.grad_norm_per_step[0]
    assert table.loc["LSTM", "ratio 50 steps back at init"] == pytest.approx(init[-51] / init[-1], rel=1e-12)
    assert table.loc["LSTM", "ratio 50 steps back at the probe"] == pytest.approx(trained[-51] / trained[-1], rel=1e-12)
    assert table.loc["GRU", "probe step"] == trainer.runs["gru"].checkpoints[-1].step
    heatmaps = chart(at, "Gradient over training")
    assert [t["type"] for t in heatmaps["data"]] == ["heatmap"] * 3

    # The play toggle adds the browser-side animation, one frame per probe.
    assert not any("Animated" in title for title in plotly_charts(at))
    at.toggle(key="glab_play").set_value(True).run()
    animation = chart(at, "Animated over training")
    assert [int(frame["name"]) for frame in animation["frames"]] == steps

    # Back to initialisation: every architecture's solid curve is its dashed (init) curve.
    slider.set_value(0).run()
    assert not at.exception
    assert at.query_params["glab_step"] == ["0"] or at.query_params["glab_step"] == "0"
    flow = chart(at, "Gradient reaching d steps back: at initialisation (dashed) and at step 0")
    for label in ("RNN (tanh)", "GRU", "LSTM"):
        np.testing.assert_array_equal(y_values(trace_named(flow, f"{label} at step 0")),
                                      y_values(trace_named(flow, f"{label} at initialisation")))
    # Absolute norms instead of ratios.
    at.toggle(key="glab_relative").set_value(False).run()
    flow = chart(at, "Gradient reaching d steps back")
    assert "mean over probe sequences" in flow["layout"]["yaxis"]["title"]["text"]
    np.testing.assert_allclose(y_values(trace_named(flow, "LSTM at step 0")), init[::-1], rtol=1e-12)


def test_bundled_run_why_tab_shows_the_jacobians_of_the_chosen_example():
    at = open_tab(lab_page(), "Why it vanishes")
    at.segmented_control(key="glab_example").set_value(2).run()
    assert not at.exception
    trainer = load_bundled_run()
    rnn_figure = chart(at, f"RNN at step {trainer.runs['rnn'].checkpoints[-1].step}, example 3")
    model = copy.deepcopy(trainer.runs["rnn"].model)
    model.load_state_dict(trainer.runs["rnn"].checkpoints[-1].state_dict)
    expected = jacobians.rnn_jacobians(model, trainer.trace_inputs[2])
    np.testing.assert_allclose(y_values(trace_named(rnn_figure, "‖J<sub>T−1</sub>")), expected.product_norm, rtol=1e-12)
    assert y_values(trace_named(rnn_figure, "product of the step norms"))[50] == pytest.approx(expected.norm_product[50])
    lstm_figure = chart(at, "LSTM at step 700, example 3")
    mean = y_values(trace_named(lstm_figure, "mean over units (step 700)"))
    text = "\n".join(m.value for m in at.markdown)
    assert f"{mean[50]:.3g} at step 700" in text
    assert f"{expected.product_norm[50]:.3g}" in text and "upper bound" in text
    # The probe slider moves the why-charts too.
    at.select_slider(key="glab_step").set_value(0).run()
    assert chart(at, "RNN at step 0, example 3") and chart(at, "LSTM at step 0, example 3")


def test_bundled_run_forget_bias_and_weight_scale_tabs():
    at = open_tab(lab_page(), "Forget-gate bias")
    figure = chart(at, "LSTM at initialisation: forget-gate bias")
    assert [t["name"] for t in figure["data"][:3]] == ["forget bias 0", "forget bias 1", "forget bias 3"]
    table = at.dataframe[0].value
    forget = table["mean forget gate"].to_numpy()
    assert forget[0] == pytest.approx(0.5, abs=0.02) and np.all(np.diff(forget) > 0) and forget[-1] > 0.9
    assert np.all(np.diff(table["ratio 50 steps back"].to_numpy()) > 0)  # more bias, more gradient reaches back

    at = open_tab(at, "Recurrent weight scale")
    table = at.dataframe[0].value
    radius = table["spectral radius of W_hh"].to_numpy()
    np.testing.assert_allclose(radius / radius[1], np.array(jacobians.WEIGHT_SCALES), rtol=1e-6)
    far = table["ratio 99 steps back"].to_numpy()
    assert far[0] < 1e-30 and far[-1] > 1  # vanishing at 0.5x, exploding at 3x


def test_bundled_run_clamp_tab_reruns_the_trained_lstm():
    at = open_tab(lab_page(), "Clamp the forget gate")
    at.slider(key="glab_clamp").set_value(0.3).run()
    assert not at.exception
    trainer = load_bundled_run()
    table = at.dataframe[0].value.set_index("forget gate")
    assert list(table.index) == ["as trained", "clamped to 0.3", "clamped to 0.5", "clamped to 0.9", "clamped to 1"]
    # Unclamped, the float64 loop reproduces the test metric the trainer measured with the fused model.
    assert table.loc["as trained", "test MSE"] == pytest.approx(trainer.runs["lstm"].checkpoints[-1].eval_metric, rel=1e-5)
    assert table.loc["clamped to 0.5", "test MSE"] > 0.1  # memory gone: back near the no-memory baseline 1/6
    assert at.query_params["glab_clamp"] in ("0.3", ["0.3"])
    assert chart(at, "Trained LSTM with its forget gate clamped")


def test_bundled_run_clipping_tab_waits_for_a_click():
    at = open_tab(lab_page(), "Gradient clipping")
    assert at.button(key="glab_clip_go")
    assert any("Two short runs of 200 steps" in c.value for c in at.caption)
    assert not any(title.startswith("RNN (tanh), 200 steps") for title in plotly_charts(at))


def test_the_url_restores_the_view_and_bad_values_fall_back():
    at = lab_page(glab_tab="Clamp the forget gate", glab_clamp="0.7", glab_step="99999", glab_clip_arch="mamba")
    assert at.session_state["glab_tab"] == "Clamp the forget gate"
    assert at.slider(key="glab_clamp").value == pytest.approx(0.7)
    latest = load_bundled_run().step
    assert at.session_state["glab_step"] == latest  # not a probe of this run: the latest
    assert any("glab_clip_arch" in w.value for w in at.warning)
    assert at.query_params["glab_clip_arch"] in ("rnn", ["rnn"]) and at.query_params["glab_step"] in (str(latest), [str(latest)])
    assert at.session_state["glab_clip_arch"] == "rnn"


def tiny_session_run(archs) -> AppTest:
    at = open_from_home("pages/train.py", timeout=TIMEOUT)
    at.multiselect(key="archs").set_value(archs)
    tiny_settings(at, max_steps=60)
    train_until_done(at)
    return lab_page(at)


def test_tiny_session_run_every_tab_and_the_clipping_runs():
    at = tiny_session_run(["rnn", "gru", "lstm"])
    trainer = at.session_state["run"].trainer
    assert any("trained in this session" in c.value for c in at.caption)
    steps = sorted({c.step for run in trainer.runs.values() for c in run.checkpoints})
    assert [int(o) for o in at.select_slider(key="glab_step").options] == steps
    flow = chart(at, "Gradient reaching d steps back")
    assert len(y_values(trace_named(flow, "LSTM at step"))) == 20
    at.select_slider(key="glab_step").set_value(steps[1]).run()
    assert chart(at, f"Gradient reaching d steps back: at initialisation (dashed) and at step {steps[1]}")
    for tab in ("Why it vanishes", "Forget-gate bias", "Clamp the forget gate", "Recurrent weight scale"):
        open_tab(at, tab)
        assert plotly_charts(at)
    open_tab(at, "Gradient clipping")
    at.selectbox(key="glab_clip_arch").set_value("lstm")
    at.selectbox(key="glab_clip_steps").set_value(100).run()
    at.button(key="glab_clip_go").click().run()
    assert not at.exception and not at.error
    figure = chart(at, "LSTM, 100 steps")
    names = {t["name"] for t in figure["data"]}
    assert any(n.startswith("clipping at 1") for n in names) and any(n.startswith("no clipping") for n in names)
    table = at.dataframe[0].value
    assert list(table["run"]) == ["clipping at 1", "no clipping"]
    # The comparison is cached: the button is gone and the chart is drawn from the stored result.
    at.run()
    assert not at.get("button") or all(b.key != "glab_clip_go" for b in at.button)
    assert chart(at, "LSTM, 100 steps")


def test_session_run_without_an_lstm_or_rnn_still_explains():
    at = tiny_session_run(["gru"])
    open_tab(at, "Clamp the forget gate")
    assert any("no LSTM to clamp" in i.value for i in at.info)
    open_tab(at, "Why it vanishes")
    infos = " ".join(i.value for i in at.info)
    assert "no RNN" in infos and "no LSTM" in infos
    assert chart(at, "RNN at step 0") and chart(at, "LSTM at step 0")
    torch.set_num_threads(1)


def test_copy_task_with_two_layers_draws_every_tab_for_each_layer():
    at = open_from_home("pages/train.py", timeout=TIMEOUT)
    at.selectbox(key="task").set_value("copy").run()
    at.multiselect(key="archs").set_value(["rnn", "lstm"])
    tiny_settings(at, max_steps=10, length=5, num_layers=2)
    train_until_done(at)
    at = lab_page(at)
    at.selectbox(key="glab_layer").set_value(1).run()
    assert not at.exception
    assert chart(at, "Gradient reaching d steps back").get("layout")["title"]["text"].endswith("layer 2")
    for tab in ("Why it vanishes", "Forget-gate bias", "Recurrent weight scale", "Clamp the forget gate"):
        open_tab(at, tab)
        assert plotly_charts(at)
        if tab == "Recurrent weight scale":
            # Layer 2's W_hh, scaled like layer 1's.
            radius = at.dataframe[0].value["spectral radius of W_hh"].to_numpy()
            trainer = at.session_state["run"].trainer
            layer_2 = jacobians.initial_model(trainer.config, "rnn").recurrent.weight_hh_l1.detach()
            np.testing.assert_allclose(radius, np.array(jacobians.WEIGHT_SCALES) * jacobians.spectral_radius(layer_2),
                                       rtol=1e-6)
            assert chart(at, "Tanh RNN at initialisation: W_hh scaled by 0.5 to 3, layer 2")
    table = at.dataframe[0].value.set_index("forget gate")
    assert "test cross-entropy" in table.columns and np.isfinite(table["test cross-entropy"]).all()
