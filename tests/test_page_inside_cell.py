"""The "Inside the cell" page through AppTest: on the bundled run and on a tiny run trained in the session, stepping
through time, changing unit, and the sandbox's sliders moving the numbers."""
import copy
import math
import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from lstm_viz.runs.bundled import load_bundled_run
from lstm_viz.core.traces import trace
from tests import app_support
from tests.app_support import APP, clear_caches, refresh_while, start_training  # noqa: F401
from tests.app_support import plotly_charts as charts

PAGE = "pages/inside_cell.py"
TIMEOUT = 90
BOLD = re.compile(r"\\mathbf\{(-?\d+\.\d+)\}")


def open_page(query: dict | None = None) -> AppTest:
    at = app_support.open_page(PAGE, query, timeout=TIMEOUT)
    assert not at.error, [e.value for e in at.error]
    return at


def results(at: AppTest) -> list[float]:
    """The bold result of every equation on the page, in order."""
    return [float(BOLD.findall(latex.value)[-1]) for latex in at.latex]


def bundled_trace(arch: str):
    trainer = load_bundled_run()
    model = copy.deepcopy(trainer.runs[arch].model)
    model.load_state_dict(trainer.runs[arch].checkpoints[-1].state_dict)
    return trainer, trace(model, trainer.trace_inputs)


def test_bundled_run_opens_on_the_first_marker_and_the_memory_unit():
    at = open_page()
    trainer, lstm = bundled_trace("lstm")
    first_marker = int(np.flatnonzero(trainer.trace_inputs[0, :, 1].numpy() > 0.5)[0])
    memory_unit = int(np.argmax(lstm["forget_gate"][0].mean(axis=0)))
    state = at.session_state
    assert state["cell_arch"] == "lstm" and state["cell_example"] == 0
    assert state["cell_step"] == first_marker and state["cell_unit"] == memory_unit
    assert state["cell_checkpoint"] == trainer.runs["lstm"].checkpoints[-1].step
    assert at.select_slider(key="cell_checkpoint").options[-1] == str(state["cell_checkpoint"])
    # LSTM (6 equations), then the RNN (1) and the GRU (4) on the same example and step.
    assert [m.value for m in at.markdown if m.value.startswith("**") and m.value.endswith("**")][:6] == [
        "**forget gate**", "**input gate**", "**candidate**", "**cell update**", "**output gate**", "**hidden state**"]
    values = results(at)
    assert len(values) == 6 + 1 + 4
    t, j = first_marker, memory_unit
    assert values[0] == pytest.approx(lstm["forget_gate"][0, t, j], abs=1e-4)
    assert values[3] == pytest.approx(lstm["cell_state"][0, t, j], abs=1e-4)
    assert values[5] == pytest.approx(lstm["hidden_state"][0, t, j], abs=1e-4)
    _, rnn = bundled_trace("rnn")
    assert values[6] == pytest.approx(rnn["hidden_state"][0, t, j], abs=1e-4)
    # The GRU solved the task early: its last checkpoint (before the LSTM's) is the one shown.
    _, gru = bundled_trace("gru")
    assert values[10] == pytest.approx(gru["hidden_state"][0, t, j], abs=1e-4)
    assert f"Step t = {t}" in at.info[0].value and "marker 1" in at.info[0].value
    titles = charts(at)
    assert any(title.startswith(f"LSTM cell, unit {j} at t = {t}") for title in titles)
    vectors = next(f for title, f in titles.items() if title.startswith("LSTM: every unit"))
    highlighted = [trace_ for trace_ in vectors["data"] if trace_["name"] == f"unit {j}"]
    assert len(highlighted) == 6 and highlighted[5]["y"][0] == pytest.approx(lstm["hidden_state"][0, t, j], abs=1e-6)
    # The view is in the address.
    assert at.query_params["cell_step"] == str(t) and at.query_params["cell_unit"] == str(j)


def test_next_and_back_step_through_time_and_the_unit_can_change():
    at = open_page()
    start = at.session_state["cell_step"]
    _, lstm = bundled_trace("lstm")
    j = at.session_state["cell_unit"]
    at.button(key="cell_next").click().run()
    assert not at.exception
    assert at.session_state["cell_step"] == start + 1 and at.slider(key="cell_step").value == start + 1
    assert results(at)[5] == pytest.approx(lstm["hidden_state"][0, start + 1, j], abs=1e-4)
    at.button(key="cell_back").click().run()
    at.button(key="cell_back").click().run()
    assert at.session_state["cell_step"] == start - 1
    assert results(at)[3] == pytest.approx(lstm["cell_state"][0, start - 1, j], abs=1e-4)
    at.slider(key="cell_step").set_value(0).run()
    assert at.button(key="cell_back").disabled
    assert results(at)[0] == pytest.approx(lstm["forget_gate"][0, 0, j], abs=1e-4)
    at.number_input(key="cell_unit").set_value(7).run()
    assert not at.exception
    assert any(h.value.startswith("LSTM, unit 7, t = 0") for h in at.subheader)
    assert results(at)[5] == pytest.approx(lstm["hidden_state"][0, 0, 7], abs=1e-4)
    at.slider(key="cell_step").set_value(99).run()
    assert at.button(key="cell_next").disabled


def test_a_link_opens_the_view_it_names():
    at = open_page({"cell_step": "12", "cell_unit": "5", "cell_example": "2", "cell_arch": "gru"})
    state = at.session_state
    assert (state["cell_step"], state["cell_unit"], state["cell_example"], state["cell_arch"]) == (12, 5, 2, "gru")
    _, gru = bundled_trace("gru")
    assert results(at)[3] == pytest.approx(gru["hidden_state"][2, 12, 5], abs=1e-4)
    assert any(h.value.startswith("GRU, unit 5, t = 12") for h in at.subheader)


def test_sandbox_sliders_change_every_value_shown():
    at = open_page()
    at.radio(key="cell_mode").set_value("sandbox").run()
    assert not at.exception and not at.error

    def sigmoid(v):
        return 1 / (1 + math.exp(-v))

    def expected(x, h, c, bi, bf, bg, bo):
        f, i, g, o = sigmoid(x + h + bf), sigmoid(x + h + bi), math.tanh(x + h + bg), sigmoid(x + h + bo)
        c_new = f * c + i * g
        return [f, i, g, c_new, o, o * math.tanh(c_new)]

    defaults = dict(x=0.5, h=0.0, c=0.5, bi=0.0, bf=1.0, bg=0.0, bo=0.0)
    assert results(at) == pytest.approx(expected(**defaults), abs=1e-4)
    at.slider(key="cell_sb_bf").set_value(-4.0).run()
    at.slider(key="cell_sb_x").set_value(-1.5).run()
    at.slider(key="cell_sb_c").set_value(2.0).run()
    changed = dict(defaults, bf=-4.0, x=-1.5, c=2.0)
    assert results(at) == pytest.approx(expected(**changed), abs=1e-4)
    assert results(at)[0] < 0.01  # a forget bias of -4 erases the old cell state
    assert any(title == "One LSTM unit, set by hand" for title in charts(at))
    assert at.query_params["cell_sb_bf"] == "-4"
    # Back to the trained model and again to the sandbox: both views keep their settings.
    at.radio(key="cell_mode").set_value("trained").run()
    at.number_input(key="cell_unit").set_value(3).run()
    at.radio(key="cell_mode").set_value("sandbox").run()
    assert results(at) == pytest.approx(expected(**changed), abs=1e-4)
    at.radio(key="cell_mode").set_value("trained").run()
    assert not at.exception and at.session_state["cell_unit"] == 3 and at.number_input(key="cell_unit").value == 3


def train_tiny_run(task: str = "adding", archs=("rnn", "lstm"), **settings) -> AppTest:
    at = app_support.open_from_home("pages/train.py", timeout=TIMEOUT)
    if task != "adding":
        at.selectbox(key="task").set_value(task).run()
    at.multiselect(key="archs").set_value(list(archs))
    for key, value in dict(dict(max_steps=10, hidden_size=6, length=12, batch_size=8), **settings).items():
        at.number_input(key=key).set_value(value)
    start_training(at)
    assert not at.session_state["run"].running
    return at


def test_a_run_trained_in_the_session_is_shown_instead_of_the_bundled_one():
    at = train_tiny_run()
    trainer = at.session_state["run"].trainer
    at.switch_page(PAGE).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "trained in this session" in " ".join(c.value for c in at.caption)
    assert at.radio(key="cell_arch").options == ["RNN (tanh)", "LSTM"]
    assert at.session_state["cell_checkpoint"] == trainer.runs["lstm"].checkpoints[-1].step == 10
    assert at.slider(key="cell_step").max == 11 and at.number_input(key="cell_unit").max == 5
    values = results(at)
    assert len(values) == 6 + 1
    t, j = at.session_state["cell_step"], at.session_state["cell_unit"]
    model = copy.deepcopy(trainer.runs["lstm"].model)
    model.load_state_dict(trainer.runs["lstm"].checkpoints[-1].state_dict)
    expected = trace(model, trainer.trace_inputs)
    assert values[5] == pytest.approx(expected["hidden_state"][0, t, j], abs=1e-4)
    # The first checkpoint (step 0) is the untrained network.
    at.select_slider(key="cell_checkpoint").set_value(0).run()
    model.load_state_dict(trainer.runs["lstm"].checkpoints[0].state_dict)
    assert results(at)[5] == pytest.approx(trace(model, trainer.trace_inputs)["hidden_state"][0, t, j], abs=1e-4)
    at.radio(key="cell_arch").set_value("rnn").run()
    assert not at.exception and not at.error
    assert len(results(at)) == 1 + 6
    assert "The cell diagram is drawn for the LSTM" in " ".join(c.value for c in at.caption)


def test_a_token_task_with_two_layers_shows_the_token_and_each_layer():
    at = train_tiny_run("copy", archs=("gru", "lstm"), num_layers=2, length=3, max_steps=4)
    trainer = at.session_state["run"].trainer
    at.switch_page(PAGE).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    steps = trainer.trace_inputs.shape[1]
    assert steps == 3 + 20 and at.session_state["cell_step"] == steps - 1  # no marker channel: the last step
    tokens = trainer.task.input_tokens(trainer.trace_inputs[0].numpy())
    at.slider(key="cell_step").set_value(2).run()
    assert f"the token **{tokens[2]}**" in at.info[0].value and "Symbols to recall" in at.info[0].value
    at.selectbox(key="cell_layer").set_value(1).run()
    assert not at.exception and not at.error
    assert "Layer 2 reads the hidden state of layer 1" in at.info[0].value
    model = copy.deepcopy(trainer.runs["lstm"].model)
    model.load_state_dict(trainer.runs["lstm"].checkpoints[-1].state_dict)
    expected = trace(model, trainer.trace_inputs).layers[1]
    j = at.session_state["cell_unit"]
    values = results(at)
    assert len(values) == 6 + 4
    assert values[3] == pytest.approx(expected["cell_state"][0, 2, j], abs=1e-4)
    assert values[5] == pytest.approx(expected["hidden_state"][0, 2, j], abs=1e-4)


def state_trainer(at: AppTest):
    return at.session_state["run"].trainer if "run" in at.session_state else None


def test_a_run_still_training_is_shown_as_a_snapshot():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.switch_page("pages/train.py").run()
    for key, value in {"max_steps": 100_000, "hidden_size": 6, "length": 12, "batch_size": 8}.items():
        at.number_input(key=key).set_value(value)
    at.button(key="start").click().run()
    try:
        assert at.session_state["run"].running
        # The trainer is built in the training thread (after a free slot): wait for its first snapshot.
        refresh_while(at, lambda at: state_trainer(at) is None)
        at.switch_page(PAGE).run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        assert "still training" in " ".join(c.value for c in at.caption)
        assert len(results(at)) == 6 + 1
        at.button(key="cell_next").click().run()
        assert not at.exception and not at.error
    finally:
        at.switch_page("pages/train.py").run()
        at.button(key="stop").click().run()
    assert not at.session_state["run"].running
