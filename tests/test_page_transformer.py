"""The Transformer on the explorer pages through AppTest: its knobs and parameter count on Train, a run trained in the
session with it (dashboard, verdict, downloads), its attention maps on Gates and memory, its attention step on Inside
the cell, the Gradient flow lab, and Try it sampling from it. Expected values come from the models themselves
(numel of the built modules, the trace of the checkpoint), never from the figures' own code."""
from __future__ import annotations

import base64
import io
import json
import zipfile

import numpy as np
import pytest
import torch

from lstm_viz.core.model import build_model
from lstm_viz.io import export
from lstm_viz.core.traces import trace
from lstm_viz.core.trainer import RunConfig, Trainer
from lstm_viz.runs.bundled import BRACKETS_RUN
from tests import app_support
from tests.app_support import clear_caches, tiny_settings, train_until_done  # noqa: F401

TIMEOUT = 120


def charts(at) -> dict[str, dict]:
    return {json.loads(e.proto.spec)["layout"]["title"]["text"]: json.loads(e.proto.spec) for e in at.get("plotly_chart")}


def chart_starting(at, prefix: str) -> dict:
    return next(figure for title, figure in charts(at).items() if title.startswith(prefix))


def array(value) -> np.ndarray:
    """A figure's array from its JSON (Plotly sends NumPy arrays as base64 with a dtype and shape)."""
    if isinstance(value, dict) and "bdata" in value:
        values = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        return values.reshape([int(n) for n in value["shape"].split(",")]) if "shape" in value else values
    return np.asarray(value, dtype=np.float64)


@pytest.fixture(scope="module")
def finished_run() -> Trainer:
    """A tiny finished LSTM + 2-layer Transformer run on the adding task, trained here (not through the page)."""
    config = RunConfig(task="adding", length=12, archs=("lstm", "transformer"), hidden_size=8, num_layers=2, heads=2,
                       batch_size=8, max_steps=6, eval_every=3, probe_every=3, eval_size=16, probe_size=6,
                       trace_examples=2)
    trainer = Trainer(config)
    torch.manual_seed(0)
    while not trainer.finished:
        trainer.train_step()
    return trainer


@pytest.fixture
def explored(monkeypatch, finished_run):
    """Every explorer page shows `finished_run` as the run of a session without one."""
    monkeypatch.setattr("lstm_viz.ui.session_run.load_bundled_run", lambda name=None: finished_run)
    return finished_run


def traced_attention(trainer: Trainer, checkpoint_step: int, inputs: np.ndarray) -> list[np.ndarray]:
    model = build_model(trainer.config.model_config("transformer"), seed=0)
    checkpoint = next(c for c in trainer.runs["transformer"].checkpoints if c.step == checkpoint_step)
    model.load_state_dict(checkpoint.state_dict)
    return trace(model, torch.as_tensor(inputs)[None]).attention


def test_train_page_shows_the_transformers_knobs_only_when_picked_and_every_parameter_count():
    at = app_support.open_page("pages/train.py", timeout=TIMEOUT)
    at.multiselect(key="archs").set_value(["rnn", "lstm"]).run()
    assert not [box for box in at.selectbox if box.key == "heads"]
    at.multiselect(key="archs").set_value(["rnn", "lstm", "transformer"]).run()
    assert at.selectbox(key="heads").value == 2
    assert at.segmented_control(key="positions").value == "sinusoidal"
    at.number_input(key="hidden_size").set_value(32).run()
    counts = next(c.value for c in at.caption if c.value.startswith("Parameters at hidden size 32"))
    config = RunConfig(task="adding", length=100, archs=("rnn", "lstm", "transformer"), hidden_size=32)
    for arch, label in (("rnn", "RNN (tanh)"), ("lstm", "LSTM"), ("transformer", "Transformer")):
        built = build_model(config.model_config(arch), seed=0)  # independent: the built modules' own parameters
        assert f"{label} {sum(p.numel() for p in built.parameters()):,}" in counts
    # A width the heads do not divide: said at once, and Start refuses it with the same reason, no traceback.
    at.selectbox(key="heads").set_value(3).run()
    assert any("does not divide by 3 attention heads" in w.value and "pick 1, 2 or 4 heads" in w.value
               for w in at.warning)
    at.button(key="start").click().run()
    assert not at.exception
    assert any("must divide by its 3 attention heads" in e.value for e in at.error)
    assert "heads=3" in "&".join(f"{k}={v}" for k, v in at.query_params.items())


def test_a_session_run_with_a_transformer_trains_gives_its_verdict_and_downloads():
    at = app_support.open_page("pages/train.py", timeout=TIMEOUT)
    tiny_settings(at, max_steps=10)
    at.multiselect(key="archs").set_value(["lstm", "transformer"]).run()
    at.segmented_control(key="positions").set_value("learned").run()
    train_until_done(at)
    assert any("Transformer" in s.value for s in at.success) or any("Transformer" in i.value for i in at.info)
    assert any(title.startswith("Gradient") for title in charts(at))
    script_note = " ".join(c.value for c in at.caption)
    assert "the Transformer is left out" in script_note
    assert at.session_state["run"].config.positions == "learned"
    at.switch_page("pages/gates_memory.py").run()
    at.selectbox(key="gm_arch").set_value("transformer").run()
    assert not at.exception
    assert any(title.startswith("Transformer attention, layer 1 of 1, head 1, at step 10") for title in charts(at))


def test_gates_and_memory_draws_each_heads_attention_as_traced(explored):
    at = app_support.open_page("pages/gates_memory.py", {"gm_arch": "transformer", "gm_layer": "1"}, timeout=TIMEOUT)
    step = explored.runs["transformer"].checkpoints[-1].step
    figure = chart_starting(at, f"Transformer attention, layer 2 of 2, head 1, at step {step}")
    heatmap = figure["data"][0]
    weights = array(heatmap["z"])
    example = explored.test_inputs[0].numpy()
    expected = traced_attention(explored, step, example)[1][0, 0]  # layer 2, head 1
    lower = np.tril_indices(len(example))
    np.testing.assert_allclose(weights[lower], expected[lower], atol=1e-6)
    assert np.isnan(weights[np.triu_indices(len(example), k=1)]).all()  # the masked future is blank, not 0
    assert heatmap["colorbar"]["title"]["text"] == "attention<br>weight" and "%{z:.6f}" in heatmap["hovertemplate"]
    assert figure["layout"]["xaxis"]["title"]["text"].startswith("key position")
    assert any("has no gates and no cell state" in c.value for c in at.caption)
    at.selectbox(key="gm_head").set_value(1).run()
    assert not at.exception
    head2 = array(chart_starting(at, "Transformer attention, layer 2 of 2, head 2")["data"][0]["z"])
    np.testing.assert_allclose(head2[lower], traced_attention(explored, step, example)[1][0, 1][lower], atol=1e-6)
    assert any("no gates to saturate" in i.value for i in at.info)


def test_inside_the_cell_takes_one_position_of_the_transformer_apart(explored):
    at = app_support.open_page("pages/inside_cell.py", {"cell_arch": "transformer", "cell_step": "7",
                                                          "cell_head": "1", "cell_layer": "0"}, timeout=TIMEOUT)
    assert not at.exception and not at.error
    step = explored.runs["transformer"].checkpoints[-1].step
    bars = chart_starting(at, "Position 7 looks back")
    weights = array(bars["data"][1]["y"])
    example = explored.trace_inputs[0].numpy()
    np.testing.assert_allclose(weights, traced_attention(explored, step, example)[0][0, 1, 7, :8], atol=1e-6)
    latex = [element.value for element in at.latex]
    assert any(r"\sqrt{4}" in text for text in latex)  # d = 8 / 2 heads
    assert any(title.startswith("LSTM: every unit at t = 7") for title in charts(at))  # the LSTM's step beside it
    at.radio(key="cell_arch").set_value("lstm").run()
    assert not at.exception
    assert any("The Transformer has no cell step" in c.value for c in at.caption)


def test_gradient_flow_lab_includes_the_transformer_and_says_why_not_on_recurrence_tabs(explored):
    at = app_support.open_page("pages/gradient_lab.py", timeout=TIMEOUT)
    assert not at.exception
    flow = chart_starting(at, "Gradient reaching d steps back")
    assert any(trace_.get("name", "").startswith("Transformer") for trace_ in flow["data"])
    assert any("one attention hop" in c.value for c in at.caption)
    for tab in ("Why it vanishes", "Clamp the forget gate"):
        at = app_support.open_page("pages/gradient_lab.py", {"glab_tab": tab}, timeout=TIMEOUT)
        assert not at.exception
        assert any("The Transformer is left out here" in c.value for c in at.caption)


def test_try_it_samples_from_a_transformer_and_says_what_it_costs(monkeypatch):
    config = RunConfig(task="brackets", length=30, archs=("lstm", "transformer"), hidden_size=8, batch_size=8,
                       max_steps=3, eval_size=16, probe_size=6, trace_examples=2)
    trainer = Trainer(config)
    while not trainer.finished:
        trainer.train_step()
    monkeypatch.setattr("lstm_viz.ui.try_it.sections.load_bundled_run", lambda name=None: trainer)
    at = app_support.open_page("pages/try_it.py", {"try_source": BRACKETS_RUN, "try_arch": "transformer",
                                                   "try_sample_length": "40"}, timeout=TIMEOUT)
    assert not at.exception and not at.error
    assert any("key-value cache" in c.value for c in at.caption)
    assert len(at.code[0].value) == len(at.text_input(key="try_prompt").value) + 40


def test_an_exported_transformer_is_imported_and_its_attention_explored(finished_run):
    data = zipfile.ZipFile(io.BytesIO(export.model_zip_bytes(finished_run))).read("transformer.safetensors")
    at = app_support.open_from_home("pages/import_model.py", timeout=TIMEOUT)
    at.file_uploader(key="import_model_file").set_value(("transformer.safetensors", data, "application/octet-stream"))
    at.run()
    assert not at.exception
    assert any("Loaded **Transformer**" in m.value for m in [*at.markdown, *at.success, *at.info])
    at.switch_page("pages/gates_memory.py").run()
    assert not at.exception
    assert at.selectbox(key="gm_arch").value == "transformer"
    step = finished_run.runs["transformer"].checkpoints[-1].step
    weights = array(chart_starting(at, "Transformer attention, layer 1 of 2, head 1")["data"][0]["z"])
    example = finished_run.test_inputs[0].numpy()
    lower = np.tril_indices(len(example))
    np.testing.assert_allclose(weights[lower], traced_attention(finished_run, step, example)[0][0, 0][lower], atol=1e-6)
