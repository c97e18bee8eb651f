"""The Try it page through AppTest: the bundled text models with typed input, sampling and the depth unit, the
labelled-text upload with its messages, and the text tasks picked and trained on the Train page."""
import base64

import numpy as np

import pytest
from streamlit.testing.v1 import AppTest

from lstm_viz.data import datastore
from lstm_viz.runs.bundled import BRACKETS_RUN, SENTIMENT_RUN
from tests.app_support import (  # noqa: F401 - clear_caches_and_data is an autouse fixture
    APP, TIMEOUT, clear_caches_and_data, open_from_home, shown, start_training, tiny_settings,
)
from tests.app_support import plotly_charts as charts


def values(array) -> np.ndarray:
    """Plotly sends NumPy arrays as base64 typed arrays."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"]))
    return np.asarray(array, dtype=float)


def try_page() -> AppTest:
    return open_from_home("pages/try_it.py")


def test_the_bundled_sentiment_model_reads_a_typed_sentence():
    at = try_page()
    assert at.title[0].value == "Try it"
    assert at.radio(key="try_source").value == SENTIMENT_RUN
    at.text_input(key="try_text").set_value("the wine was not bad at all , bruv .").run()
    assert not at.exception
    assert at.metric[0].label == "Prediction" and at.metric[0].value == "positive"
    warning = shown(" ".join(w.value for w in at.warning))
    assert "“bruv”" in warning and "“,”" not in warning and "<unk>" in warning
    titles = list(charts(at))
    assert "Probability of each class" in titles
    words = next(figure for title, figure in charts(at).items() if "reading the sentence" in title)
    ticks = [t for name, axis in words["layout"].items() if name.startswith("xaxis") for t in axis.get("ticktext", [])]
    assert "⚠bruv" in ticks and "," in ticks and "wine" in ticks
    assert at.query_params["try_text"] == "the wine was not bad at all , bruv ."
    at.text_input(key="try_text").set_value("good food but the service was awful .").run()
    assert at.metric[0].value == "negative"
    at.text_input(key="try_text").set_value("!!! ???").run()
    assert not at.exception and not at.error  # punctuation is read (as unknown words), not refused
    at.text_input(key="try_text").set_value("@@@").run()
    assert "at least one word" in at.error[0].value


def test_example_sentences_are_one_click_away_and_the_seeds_three_read_right():
    at = try_page()
    buttons = {b.key: b.label for b in at.button if b.key and b.key.startswith("try_example_")}
    labels = [buttons[f"try_example_{i}"] for i in range(len(buttons))]  # laid out in columns, listed by key
    assert labels[:3] == ["I love this product!", "This restaurant is okay...", "The service was terrible!"]
    for index, expected in enumerate(("positive", "neutral", "negative")):
        at.button(key=f"try_example_{index}").click().run()
        assert not at.exception
        assert at.text_input(key="try_text").value == labels[index]
        assert at.metric[0].value == expected
        assert "Every word is in the model's vocabulary." in [c.value for c in at.caption]
    # An example with words the model never saw still marks them.
    at.button(key="try_example_5").click().run()
    warning = " ".join(w.value for w in at.warning)
    assert "“june”" in warning and "“sister”" not in warning


def test_the_bundled_bracket_model_samples_and_finds_its_depth_unit():
    at = try_page()
    at.radio(key="try_source").set_value(BRACKETS_RUN).run()
    assert not at.exception, at.exception
    first = at.code[0].value
    assert first.startswith("(") and len(first) == 1 + 300
    at.slider(key="try_temperature").set_value(1.5).run()
    assert at.code[0].value != first and not at.exception
    depth = next(figure for title, figure in charts(at).items() if "“nesting depth” of your text" in title)
    true_depth = next(trace for trace in depth["data"] if trace["name"] == "true nesting depth")
    assert values(true_depth["y"]).max() >= 2
    unit_trace = next(trace for trace in depth["data"] if trace["name"].startswith("unit "))
    correlation = float(unit_trace["name"].split("r = ")[1].rstrip(")"))
    assert abs(correlation) > 0.5  # the trained LSTM has a unit that counts brackets
    at.radio(key="try_feature").set_value("inside quotes").run()
    quotes = next(figure for title, figure in charts(at).items() if "“inside quotes” of your text" in title)
    unit_trace = next(trace for trace in quotes["data"] if trace["name"].startswith("unit "))
    assert abs(float(unit_trace["name"].split("r = ")[1].rstrip(")"))) > 0.8  # and one that knows it is in a quote
    at.text_area(key="try_paste").set_value("f(x) = [1, 2]").run()
    assert not at.exception
    assert "Characters outside the alphabet" in at.warning[0].value and "=" in at.warning[0].value
    at.text_area(key="try_paste").set_value("").run()
    assert "paste or type some text first" in at.error[0].value


@pytest.mark.parametrize("pasted, message", [
    ("", "paste some text first"),
    ("text,label\n" + "\n".join(f"soup {i},food" for i in range(25)), "at least two classes"),
    ("words,label\n" + "\n".join(f"soup {i},{i % 2}" for i in range(25)), "no text column"),
    ("text,label\n" + "\n".join(f"soup {i},{i % 12}" for i in range(40)), "the limit is 10"),
])
def test_pasted_labelled_text_is_checked_with_a_message(pasted, message):
    at = try_page()
    at.text_area(key="text_upload_paste").set_value(pasted).run()
    at.button(key="text_upload_check").click().run()
    assert not at.exception
    assert message in shown(" ".join(e.value for e in at.error))


def test_valid_pasted_text_goes_to_the_train_page_and_trains():
    at = try_page()
    rows = [f"it rained all day {i},weather" for i in range(15)] + [f"the bread {i} was fresh,food" for i in range(15)]
    at.text_area(key="text_upload_paste").set_value("text,label\n" + "\n".join(rows)).run()
    at.button(key="text_upload_check").click().run()
    assert "is ready: 30 rows, 2 classes" in at.success[0].value
    at.button(key="text_upload_train").click().run()
    assert not at.exception
    assert at.title[0].value == "Watch an LSTM learn"
    assert at.session_state["task"] == "labelled-text"
    assert any("the pasted text, 30 rows, 2 classes" in shown(c.value) for c in at.caption)
    at.switch_page("pages/train.py").run()  # the browser stays on the Train page; AppTest returns to the last page set
    tiny_settings(at, length=12)
    start_training(at)
    assert not at.exception
    assert at.session_state["run"].trainer.config.task_options == (("dataset", datastore.get(
        at.session_state["text_dataset"]).key),)
    at.switch_page("pages/try_it.py").run()
    assert at.radio(key="try_source").value == "session"
    at.text_input(key="try_text").set_value("the bread was fresh").run()
    assert at.metric[0].value in ("food", "weather") and not at.exception


@pytest.mark.parametrize("task", ["sentiment", "brackets"])
def test_text_tasks_are_picked_and_trained_on_the_train_page_then_tried(task):
    at = open_from_home("pages/train.py")
    at.selectbox(key="task").set_value(task).run()
    assert at.number_input(key="length").value == {"sentiment": 30, "brackets": 100}[task]
    assert any("T = " in shown(c.value) for c in at.caption)  # the knob's meaning and limits, next to it
    tiny_settings(at, length={"sentiment": 4, "brackets": 30}[task])
    start_training(at)
    assert not at.session_state["run"].running and not at.exception
    at.switch_page("pages/try_it.py").run()
    assert not at.exception, at.exception
    assert at.radio(key="try_source").value == "session"
    if task == "sentiment":
        assert at.metric[0].label == "Prediction"
    else:
        assert at.code[0].value.startswith("(")


def test_a_shared_link_opens_the_same_view():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.query_params["try_source"] = BRACKETS_RUN
    at.query_params["try_temperature"] = "0.4"
    at.query_params["try_prompt"] = "{"
    at.switch_page("pages/try_it.py").run()
    assert not at.exception, at.exception
    assert at.radio(key="try_source").value == BRACKETS_RUN
    assert at.slider(key="try_temperature").value == 0.4
    assert at.code[0].value.startswith("{")
