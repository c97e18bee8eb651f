"""The Translate page through AppTest: a typed sentence is translated by both shipped models, the attention heatmap is
drawn with rows that are distributions over the source tokens, bad input gets a message, and training a session's
own pair of models goes through the server's scheduler."""
import base64
import json

import numpy as np
import torch

from tests.app_support import clear_caches, open_page  # noqa: F401 - clear_caches is an autouse fixture

PAGE = "pages/translate.py"


def charts(at) -> dict:
    return {json.loads(e.proto.spec)["layout"]["title"]["text"]: json.loads(e.proto.spec) for e in at.get("plotly_chart")}


def array(value) -> np.ndarray:
    """A figure's array: Plotly sends NumPy arrays as base64 ("bdata") with their dtype and shape."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        return flat.reshape([int(n) for n in str(value.get("shape", len(flat))).split(",")])
    return np.array(value)


def markdown(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_a_typed_date_is_normalised_and_its_attention_drawn():
    at = open_page(PAGE)
    at.text_input(key="tr_text").set_value("we met on the 3rd of March 2021 at noon").run()
    assert not at.exception and not at.error
    assert markdown(at).count("`2021-03-03`") == 4  # greedy and beam, with and without attention
    drawn = charts(at)
    heatmap = drawn["Attention alignment: source tokens × written tokens"]["data"][0]
    weights = array(heatmap["z"])
    assert weights.shape == (6, 11)  # 2021 - 03 - 03 <eos> x we met on the 3 rd of march 2021 at noon
    assert np.allclose(weights.sum(axis=1), 1.0, atol=1e-5)
    assert weights[2].argmax() == 7  # the month written while looking at "march"
    assert "Final encoder state (the model without attention)" in drawn
    assert any(title.startswith("Encoder cell state") for title in drawn)
    assert any(title.startswith("Exact match by source length") for title in drawn)
    assert "Exact match by source length, 16 units (dates)" in drawn


def test_a_new_task_brings_its_example_and_english_is_translated():
    at = open_page(PAGE)
    at.selectbox(key="tr_task").set_value("eng-fra").run()
    assert not at.exception and at.text_input(key="tr_text").value == "I am cold."
    assert "Greedy: `" in markdown(at) and "(nothing)" not in markdown(at)
    at.text_input(key="tr_text").set_value("I am cold zzqx.").run()
    assert any("zzqx" in w.value for w in at.warning)


def test_bad_input_gets_a_clear_message():
    at = open_page(PAGE)
    for text, message in (("", "type a sentence first"), ("qqzx zzqq", "none of these words"),
                          ("1 " * 70, "at most 60"), ("03/03/21 " * 1112, "at most 60")):
        at.text_input(key="tr_text").set_value(text).run()
        assert not at.exception
        assert any(message in e.value for e in at.error), (text[:20], [e.value for e in at.error])
        assert "Attention alignment: source tokens × written tokens" not in charts(at)
    assert len(at.text_input(key="tr_text").value) == 300  # the box keeps 300 of the 10,008 characters


def test_training_the_session_s_own_models_goes_through_the_scheduler():
    at = open_page(PAGE, {"tr_steps": "100"}, timeout=300)
    at.button(key="tr_train").click().run()
    assert not at.exception
    assert at.session_state["tr_models"] == "session"
    assert "Greedy: `" in markdown(at)
    from lstm_viz.ui import services
    assert any(t.kind == "translate" and t.done_units == 200 for t in services.scheduler().admissions)


def test_a_session_can_train_gru_models_and_sees_their_gates():
    at = open_page(PAGE, {"tr_steps": "100", "tr_cell": "gru"}, timeout=300)
    assert "(LSTM)" in markdown(at)  # the shipped models until the session's own are trained
    at.button(key="tr_train").click().run()
    assert not at.exception and not at.error
    from lstm_viz.ui.translate.models import SESSION_MODELS_KEY
    trained = at.session_state[SESSION_MODELS_KEY]["dates"]
    assert {attention: model.config.cell for attention, model in trained.items()} == {True: "gru", False: "gru"}
    assert isinstance(trained[True].encoder, torch.nn.GRU)
    assert markdown(at).count("(GRU)") == 2
    shown = at.selectbox(key="tr_quantity")
    assert shown.options == ["hidden state hₜ", "candidate gₜ", "reset gate rₜ", "update gate zₜ"]  # no cₜ, no oₜ
    assert shown.value == "hidden_state"  # the link's default, cell state, fitted to what a GRU has
    bars = charts(at)["Final encoder state (the model without attention)"]["data"]
    assert [trace["name"] for trace in bars] == ["hidden state hₜ (64 units)"]  # a GRU has no cell state
