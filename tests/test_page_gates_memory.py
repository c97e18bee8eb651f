"""The "Gates and memory" page through AppTest: the bundled run, a run trained in the session, and a task that takes
typed text (a small fake one, since the real text tasks live on other branches)."""
import base64
import copy
import json

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from lstm_viz.core.tasks import TASKS
from lstm_viz.core.traces import trace
from lstm_viz.core.trainer import RunConfig, Trainer
from tests.fake_text_task import FAKE_BRACKETS
from tests import app_support
from tests.app_support import clear_caches, open_from_home, tiny_settings, train_until_done  # noqa: F401

PAGE = "pages/gates_memory.py"
TIMEOUT = 90


def open_page(query: dict | None = None) -> AppTest:
    return app_support.open_page(PAGE, query, timeout=TIMEOUT)


def charts(at: AppTest) -> dict[str, dict]:
    return {json.loads(e.proto.spec)["layout"]["title"]["text"].split(" <span")[0]: json.loads(e.proto.spec)
            for e in at.get("plotly_chart")}


def chart_starting(at: AppTest, prefix: str) -> dict:
    return next(figure for title, figure in charts(at).items() if title.startswith(prefix))


def array(value) -> np.ndarray:
    """A figure's array from its JSON: Plotly sends NumPy arrays as base64 ("bdata") with a dtype and shape."""
    if isinstance(value, dict) and "bdata" in value:
        values = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        return values.reshape([int(n) for n in value["shape"].split(",")]) if "shape" in value else values
    return np.asarray(value)


def heatmap_units(figure: dict) -> list[list[int]]:
    """Unit numbers of each heatmap's rows, top first."""
    return [[int(unit) for unit in t["y"]] for t in figure["data"] if t["type"] == "heatmap"]


def shown_step(arch: str) -> int:
    """The step the page shows by default: the latest checkpoint of the bundled run's cell, read from that run."""
    from lstm_viz.runs.bundled import load_bundled_run

    return load_bundled_run().runs[arch].checkpoints[-1].step


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def test_bundled_run_shows_every_lstm_gate_and_state_in_one_unit_order():
    at = open_page()
    assert "bundled run" in captions(at)
    assert at.selectbox(key="gm_arch").value == "lstm"
    main = chart_starting(at, f"LSTM at step {shown_step('lstm')}")
    heatmaps = [t for t in main["data"] if t["type"] == "heatmap"]
    assert [t["name"].split(" ")[0] for t in heatmaps] == ["input", "forget", "candidate", "output", "cell", "hidden"]
    rows = heatmap_units(main)
    assert sorted(rows[0]) == list(range(64)) and all(r == rows[0] for r in rows)  # one shared order
    assert "%{z:.4f}" in heatmaps[0]["hovertemplate"]
    # The other two cells on the same example, and saturation over the LSTM's checkpoints.
    assert any(title.startswith(f"GRU at step {shown_step('gru')}") for title in charts(at))
    assert any(title.startswith("RNN (tanh) at step") for title in charts(at))
    saturation = chart_starting(at, "LSTM gate saturation")
    assert len(saturation["data"]) == 6 and len(array(saturation["data"][0]["x"])) >= 10
    assert at.query_params["gm_arch"] == "lstm"


def test_orderings_reorder_the_rows_as_they_promise():
    at = open_page()
    at.selectbox(key="gm_order").set_value("index").run()
    assert heatmap_units(chart_starting(at, "LSTM at step"))[0] == list(range(64))
    at.selectbox(key="gm_order").set_value("forget").run()
    main = chart_starting(at, "LSTM at step")
    forget = next(t for t in main["data"] if t["type"] == "heatmap" and t["name"].startswith("forget"))
    row_means = array(forget["z"]).astype(float).mean(axis=1)
    assert all(a >= b - 1e-6 for a, b in zip(row_means, row_means[1:]))  # highest forget gate on top
    at.selectbox(key="gm_order").set_value("peak").run()
    assert not at.exception
    assert "64 units, by peak time" in json.dumps(chart_starting(at, "LSTM at step")["layout"]["title"])


def test_neuron_search_finds_lstm_units_tracking_the_running_sum():
    at = open_page()
    at.selectbox(key="gm_feature").set_value("running sum of marked values").run()
    assert not at.exception
    bars = chart_starting(at, "Best 6 of 64 units")["data"][0]
    best_unit = int(bars["x"][0].split(" ")[1])
    # Independently: trace the bundled LSTM's last checkpoint on the probe batch and correlate with np.corrcoef.
    from lstm_viz.runs.bundled import load_bundled_run

    trainer = load_bundled_run()
    model = copy.deepcopy(trainer.runs["lstm"].model)
    model.load_state_dict(trainer.runs["lstm"].checkpoints[-1].state_dict)
    cell = trace(model, trainer.probe_inputs).layers[0]["cell_state"]
    inputs = trainer.probe_inputs.numpy()
    running_sum = np.cumsum(inputs[..., 0] * inputs[..., 1], axis=1)
    r = [np.corrcoef(cell[..., u].ravel(), running_sum.ravel())[0, 1] for u in range(64)]
    assert best_unit == int(np.argmax(np.abs(r)))
    assert array(bars["y"])[0] == pytest.approx(r[best_unit], abs=1e-5)
    assert abs(r[best_unit]) > 0.5
    # The trajectories can follow the same feature.
    at.radio(key="gm_pick").set_value("feature").run()
    trajectories = chart_starting(at, "LSTM cell state, units most correlated")
    assert f"unit {best_unit}" in [t["name"] for t in trajectories["data"]]


def test_span_search_hand_picked_units_and_the_address():
    at = open_page()
    at.radio(key="gm_search").set_value("span").run()
    at.slider(key="gm_span").set_range(21, 30).run()
    assert not at.exception
    assert "steps 21–30 of this example" in captions(at)
    traces = chart_starting(at, "The best units on this example")
    assert any(shape["type"] == "rect" and shape["x0"] == 20.5 for shape in traces["layout"]["shapes"])
    at.selectbox(key="gm_span_method").set_value("match").run()
    assert not at.exception and "LSTMVis on/off match" in captions(at)
    lines = chart_starting(at, "The best units")["layout"]["shapes"]
    assert sorted(s["y0"] for s in lines if s["type"] == "line" and s["y0"] == s["y1"]) == [-0.3, 0.3]
    at.radio(key="gm_pick").set_value("hand").run()
    at.multiselect(key="gm_units").set_value([3, 5]).run()
    names = [t["name"] for t in chart_starting(at, "LSTM cell state, units by hand")["data"]]
    assert "unit 3" in names and "unit 5" in names
    for key, value in (("gm_span_start", "21"), ("gm_span_end", "30"), ("gm_units", "3,5"), ("gm_search", "span")):
        assert at.query_params[key] == value


def test_architecture_choice_and_a_view_opened_from_an_address():
    at = open_page({"gm_arch": "gru", "gm_order": "index", "gm_example": "5", "gm_order_typo": "x"})
    assert at.selectbox(key="gm_arch").value == "gru"
    gru = chart_starting(at, f"GRU at step {shown_step('gru')}")
    assert heatmap_units(gru)[0] == list(range(64)) and len(heatmap_units(gru)) == 4
    assert at.number_input(key="gm_example").value == 5
    assert any(title.startswith("LSTM at step") for title in charts(at))  # the comparison now shows the LSTM
    at.selectbox(key="gm_arch").set_value("rnn").run()
    assert not at.exception
    assert any("no gates to saturate" in i.value for i in at.info)
    assert at.selectbox(key="gm_state").options == ["hidden state hₜ"]


@pytest.mark.parametrize("task", ["adding", "copy"])
def test_a_run_trained_in_the_session_is_explored_at_any_checkpoint(task):
    at = open_from_home("pages/train.py", timeout=TIMEOUT)
    at.selectbox(key="task").set_value(task).run()
    # The copy run has two layers, so the layer picker is exercised too.
    tiny_settings(at, max_steps=10, length=20 if task == "adding" else 5, num_layers=1 if task == "adding" else 2)
    at.multiselect(key="archs").set_value(["gru", "lstm"])
    train_until_done(at)
    at.switch_page(PAGE).run()
    assert not at.exception
    assert "this session's run" in captions(at)
    assert any(title.startswith("LSTM at step 10") for title in charts(at))
    assert len(heatmap_units(chart_starting(at, "LSTM at step 10"))[0]) == 8
    at.select_slider(key="gm_step").set_value(0).run()
    assert not at.exception
    assert any(title.startswith("LSTM at step 0") for title in charts(at))
    assert any(title.startswith("GRU at step 0") for title in charts(at))
    if task == "copy":  # a token task: the tokens are drawn on the time axis, every feature can be searched
        main = chart_starting(at, "LSTM at step 0")
        assert next(t for t in main["data"] if t.get("mode") == "text")["text"][-1] in ("·", ":")
        for feature in at.selectbox(key="gm_feature").options:
            at.selectbox(key="gm_feature").set_value(feature).run()
            assert not at.exception
        at.selectbox(key="gm_layer").set_value(1).run()
        assert not at.exception
        assert any(title.startswith("LSTM at step 0, layer 2") for title in charts(at))
        assert any(title.startswith("LSTM gate saturation over training, layer 2") for title in charts(at))


def test_typed_text_for_a_task_that_accepts_it(monkeypatch):
    monkeypatch.setitem(TASKS, FAKE_BRACKETS.name, FAKE_BRACKETS)
    config = RunConfig(task=FAKE_BRACKETS.name, length=12, archs=("lstm",), hidden_size=5, batch_size=8,
                       max_steps=3, eval_size=16, probe_size=6, trace_examples=2)
    trainer = Trainer(config)
    torch.manual_seed(0)
    while not trainer.finished:
        trainer.train_step()
    monkeypatch.setattr("lstm_viz.ui.session_run.load_bundled_run", lambda name=None: trainer)
    at = open_page()
    assert at.selectbox(key="gm_feature").options == ["nesting depth", "open bracket"]
    at.radio(key="gm_source").set_value("text").run()
    at.text_input(key="gm_text").input("((a)x(").run()
    assert not at.exception
    main = chart_starting(at, "LSTM at step 3")
    tokens = next(t for t in main["data"] if t.get("mode") == "text")
    assert tokens["text"] == list("((a)x(") and "x (unknown)" in tokens["customdata"]
    assert len(array(main["data"][1]["x"])) == 6  # the heatmaps cover the typed steps
    at.text_input(key="gm_text").input("(" * 100).run()
    assert not at.exception
    assert [e.value for e in at.error] == ["Could not use this text: at most 64 characters"]
    assert any(title.startswith("LSTM at step 3") for title in charts(at))  # a test example instead
