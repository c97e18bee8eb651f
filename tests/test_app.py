"""The app's pages through Streamlit's AppTest. Training runs in a background thread; every `at.run()` is one
refresh of the page, drawing whatever the run has reached."""
import pytest
from streamlit.testing.v1 import AppTest

from tests.app_support import (  # noqa: F401 - clear_caches is an autouse fixture; the others are used here and elsewhere
    APP,
    TIMEOUT,
    TRAINING_TIMEOUT_SECONDS,
    clear_caches,
    open_from_home,
    plotly_charts,
    tiny_settings,
    train_until_done,
)


def train_page() -> AppTest:
    return open_from_home("pages/train.py")


def texts(at: AppTest) -> str:
    return "\n".join(e.value for kind in ("success", "info", "warning", "error") for e in at.get(kind))


def test_home_page_renders_and_its_button_opens_the_headline_preset():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    assert at.title[0].value == "LSTM Explorer"
    at.session_state["preset"] = "copy-memory"
    at.session_state["task"] = "copy"
    at.button(key="open_headline").click().run()
    assert not at.exception
    assert at.session_state["preset"] == "vanishing-gradients"
    assert at.session_state["task"] == "adding" and at.session_state["length"] == 100
    assert at.button(key="start").label.endswith("Start training")  # we are on the Train page


def test_train_page_shows_defaults_and_limits_before_training():
    at = train_page()
    assert at.selectbox(key="preset_box").value == "vanishing-gradients"
    assert at.multiselect(key="archs").value == ["rnn", "lstm"]
    hidden = at.number_input(key="hidden_size")
    assert (hidden.min, hidden.max) == (1, 512)
    assert "1–512" in hidden.help
    assert at.number_input(key="max_steps").max == 100_000
    assert at.button(key="stop").disabled
    assert "Start training" in texts(at)
    # Before Start the charts are drawn empty (so the browser loads Plotly before the click): the loss chart has its
    # baseline and solved lines and no curve, the gradient chart nothing.
    charts = plotly_charts(at)
    loss = charts["Adding problem, T = 100: test MSE while training"]
    assert [trace["name"].split(" (")[0] for trace in loss["data"]] == ["no-memory baseline", "solved"]
    assert loss["data"][0]["y"] == [pytest.approx(1 / 6)] * 2
    assert not charts["How much gradient reaches each time step"].get("data")


def test_presets_and_task_change_update_the_widgets():
    at = train_page()
    at.selectbox(key="preset_box").set_value("three-cells").run()
    assert at.multiselect(key="archs").value == ["rnn", "gru", "lstm"]
    assert at.number_input(key="length").value == 50
    at.selectbox(key="task").set_value("copy").run()
    assert not at.exception
    length = at.number_input(key="length")
    assert length.value == 20 and length.max == 500


def test_a_tiny_run_trains_draws_charts_and_gives_the_verdict():
    at = train_page()
    tiny_settings(at)
    train_until_done(at)
    trainer = at.session_state["run"].trainer
    assert trainer.step == 20 and trainer.finished
    verdict = trainer.verdict()
    assert verdict in texts(at)
    assert "RNN (tanh)" in verdict and "LSTM" in verdict
    assert at.progress[0].value == 100
    charts = plotly_charts(at)
    loss = next(f for title, f in charts.items() if "while training" in title)
    baseline = next(t for t in loss["data"] if t["name"].startswith("no-memory baseline"))
    assert baseline["y"] == [pytest.approx(1 / 6)] * 2
    assert any(title.startswith("Gradient reaching each time step") for title in charts)
    internals = next(f for title, f in charts.items() if title.startswith("LSTM at step 20"))
    assert sum(t["type"] == "heatmap" for t in internals["data"]) == 5
    assert any("cell state" in title for title in charts)
    assert any("Forget gate" in title for title in charts)
    # After training a slider scrubs through the checkpoints: the initial one shows the untrained gates.
    slider = at.select_slider(key=f"checkpoint_{at.session_state['run'].run_id}_lstm")
    assert slider.options[0] == "0"
    slider.set_value(0).run()
    assert not at.exception
    assert any(title.startswith("LSTM at step 0") for title in plotly_charts(at))


def test_example_and_architecture_pickers_change_the_internals_chart():
    at = train_page()
    tiny_settings(at, max_steps=5)
    at.multiselect(key="archs").set_value(["gru", "lstm"])
    train_until_done(at)
    run_id = at.session_state["run"].run_id
    at.button_group(key=f"example_{run_id}").set_value(2).run()
    assert not at.exception
    assert any("example 3" in title for title in plotly_charts(at))
    at.button_group(key=f"internals_arch_{run_id}").set_value("gru").run()
    assert not at.exception
    gru = next(f for title, f in plotly_charts(at).items() if title.startswith("GRU at step"))
    assert sum(t["type"] == "heatmap" for t in gru["data"]) == 4  # reset, update, candidate, hidden


def test_stop_ends_training_with_a_stopped_status():
    at = train_page()
    tiny_settings(at, max_steps=100_000)
    at.button(key="start").click().run()
    assert at.session_state["run"].running
    at.button(key="stop").click().run()
    assert not at.exception
    trainer = at.session_state["run"].trainer
    assert trainer.finished and all(run.status == "stopped" for run in trainer.runs.values())
    assert not at.button(key="start").disabled
    assert "stopped" in "\n".join(m.value for m in at.markdown)


def test_bad_settings_show_the_config_error_not_a_traceback():
    at = train_page()
    at.multiselect(key="archs").set_value([])
    at.button(key="start").click().run()
    assert not at.exception
    assert at.session_state["run"].trainer is None and not at.session_state["run"].running
    assert [e.value for e in at.error] == ["Check the settings: pick at least one architecture"]


def test_a_model_over_the_compute_budget_is_refused_with_its_cost():
    at = train_page()
    assert any("GFLOP per training step" in c.value for c in at.caption)
    at.number_input(key="hidden_size").set_value(512)
    at.number_input(key="num_layers").set_value(3)
    at.number_input(key="length").set_value(1000).run()
    assert any("GFLOP per training step" in w.value and "limit 60 GFLOP" in w.value for w in at.warning)
    at.button(key="start").click().run()
    assert not at.exception
    assert at.session_state["run"].trainer is None and not at.session_state["run"].running
    assert any(e.value.startswith("Check the settings: this setting needs about") for e in at.error)


def test_divergence_is_reported_as_a_warning():
    at = train_page()
    tiny_settings(at, max_steps=200)
    at.selectbox(key="optimizer").set_value("sgd")
    at.number_input(key="learning_rate").set_value(10.0)
    at.toggle(key="clip_enabled").set_value(False)
    train_until_done(at)
    trainer = at.session_state["run"].trainer
    assert any(run.status == "diverged" for run in trainer.runs.values())
    warnings = [w.value for w in at.warning]
    assert any("diverged" in w and "learning rate" in w for w in warnings)
    assert "diverged" in trainer.verdict() and trainer.verdict() in texts(at)


def test_an_unexpected_training_error_becomes_a_friendly_message(monkeypatch):
    at = train_page()
    tiny_settings(at)
    from lstm_viz.core.trainer import Trainer

    def broken_step(self):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(Trainer, "train_step", broken_step)
    train_until_done(at)
    assert not at.session_state["run"].running
    assert any("simulated failure" in e.value and "unexpected error" in e.value for e in at.error)


def test_settings_survive_a_visit_to_the_home_page():
    at = train_page()
    at.number_input(key="hidden_size").set_value(32).run()
    at.switch_page("pages/home.py").run()
    at.switch_page("pages/train.py").run()
    assert not at.exception
    assert at.number_input(key="hidden_size").value == 32


@pytest.mark.parametrize("task, length", [("adding", 4), ("copy", 2), ("adding", 300)])
def test_edge_settings_train_and_draw_without_errors(task, length):
    """The corners of the allowed settings: one unit, three layers, one sequence per batch, shortest lengths."""
    at = train_page()
    at.selectbox(key="task").set_value(task).run()
    at.multiselect(key="archs").set_value(["rnn", "gru", "lstm"])
    tiny_settings(at, hidden_size=1, num_layers=3, batch_size=1, length=length, max_steps=3)
    train_until_done(at)
    assert not at.error, [e.value for e in at.error]
    trainer = at.session_state["run"].trainer
    assert trainer.step == 3 and all(run.status == "budget" for run in trainer.runs.values())
    charts = plotly_charts(at)
    assert any(title.startswith("LSTM at step 3") for title in charts)
    # Every layer's internals draw too.
    run_id = at.session_state["run"].run_id
    at.selectbox(key=f"layer_{run_id}").set_value(2).run()
    assert not at.exception and not at.error
    assert any("layer 3" in title for title in plotly_charts(at))


def figure_array(value) -> list:
    """A trace's x or y from the figure's JSON: Plotly sends NumPy arrays as base64 ("bdata") with their dtype."""
    import base64

    import numpy as np

    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"])).tolist()
    return list(value)


def test_the_start_click_draws_the_step_0_evaluation_and_the_next_refresh_the_insides():
    """The page run right after the Start click already shows each cell's test metric at step 0 (its untrained
    weights on the test set) and the gradient reaching each step; the heatmaps come with the next refresh."""
    import torch

    from lstm_viz.core.architectures import ARCHITECTURES
    from lstm_viz.core.model import build_model
    from lstm_viz.core.trainer import TEST_SEED_OFFSET

    at = train_page()
    tiny_settings(at, max_steps=100_000)
    at.button(key="start").click().run()
    try:
        assert not at.exception
        config = at.session_state["run"].subscription.config
        charts = plotly_charts(at)
        loss = next(f for title, f in charts.items() if "while training" in title)
        test_inputs, test_targets = config.make_task().generate(
            config.eval_size, config.length, torch.Generator().manual_seed(config.seed + TEST_SEED_OFFSET), split="test")
        for arch in config.archs:
            model = build_model(config.model_config(arch), seed=config.seed).eval()
            with torch.no_grad():
                untrained_mse = float(((model(test_inputs) - test_targets) ** 2).mean())
            curve = next(t for t in loss["data"] if t["mode"] == "lines+markers" and t["name"] == ARCHITECTURES[arch].label)
            assert figure_array(curve["x"])[0] == 0
            assert figure_array(curve["y"])[0] == pytest.approx(untrained_mse, rel=1e-5)
        gradient = next(f for title, f in charts.items() if title.startswith("Gradient reaching each time step"))
        assert len(gradient["data"]) == len(config.archs)
        assert not any(" at step " in title for title in charts)  # no heatmaps yet
        assert any("Drawing every gate and state" in caption.value for caption in at.caption)
        at.run()  # the next refresh
        assert not at.exception
        assert any(title.startswith("LSTM at step") for title in plotly_charts(at))
        assert not any("Drawing every gate and state" in caption.value for caption in at.caption)
    finally:
        at.button(key="stop").click().run()
