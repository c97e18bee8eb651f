"""The Music page in Streamlit's AppTest: it opens on the shipped run with a melody sampled after a test chorale's
opening, both melodies playable (two WAVs) and drawn, and the cross-entropy table against both count baselines;
typed primers are read, hostile ones (unknown names, a million characters, in the box or in the address) get a
message and never a traceback; a session run of the chorale task is the one sampled from."""
import base64
import numpy as np
import pytest

from lstm_viz.core.tasks.chorales import count_baselines
from lstm_viz.ui import page_schemas
from tests.app_support import clear_caches  # noqa: F401 - autouse fixture
from tests.app_support import open_from_home, open_page, plotly_charts, start_training, tiny_settings

PAGE = "pages/music.py"


def array(value) -> list:
    """A trace's array from the figure's JSON: Plotly sends NumPy arrays as base64 ("bdata") with their dtype."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"])).tolist()
    return list(value)


def audio_urls(at) -> list[str]:
    return [element.proto.url for element in at.get("audio")]


def test_the_page_opens_with_a_melody_its_chorale_and_the_table():
    at = open_page(PAGE)
    assert at.title[0].value == "Music" and not at.error
    urls = audio_urls(at)
    assert len(urls) == 2 and all(url.endswith(".wav") for url in urls) and urls[0] != urls[1]
    charts = plotly_charts(at)
    sampled = next(title for title in charts if title.startswith("32 notes sampled after a primer of 6 (grey)"))
    real = next(figure for title, figure in charts.items() if title.startswith("The real soprano (45 notes)"))
    assert [trace["name"] for trace in real["data"] if trace["type"] == "bar"] == ["primer", "Bach's notes"]
    # The roll's notes (primer and sampled bars) and one panel per unit the neuron search found.
    bars = [trace for trace in charts[sampled]["data"] if trace["type"] == "bar"]
    assert [len(array(trace["x"])) for trace in bars] == [6, 32]  # primer, sampled
    assert any("with phrase position" in a["text"] for a in charts[sampled]["layout"]["annotations"])
    assert any("with pitch height" in a["text"] for a in charts[sampled]["layout"]["annotations"])
    table = at.dataframe[0].value
    assert list(table["model"]) == ["RNN (tanh)", "GRU", "LSTM", "unigram (counts)", "bigram (counts)"]
    totals = dict(zip(table["model"], table["total"]))
    assert totals["unigram (counts)"] == pytest.approx(count_baselines().unigram)
    assert totals["bigram (counts)"] == pytest.approx(count_baselines().bigram)
    assert all(totals[cell] < totals["bigram (counts)"] for cell in ("RNN (tanh)", "GRU", "LSTM"))


def test_the_same_settings_give_the_same_melody_and_a_new_seed_another():
    at = open_page(PAGE, {"music_seed": "4"})
    first = audio_urls(at)[0]
    at.run()
    assert audio_urls(at)[0] == first  # the media file is named by its bytes: the same WAV
    at.number_input(key="music_seed").set_value(5).run()
    assert audio_urls(at)[0] != first and not at.exception


def test_a_typed_primer_is_continued():
    at = open_page(PAGE, {"music_primer": "typed", "music_typed": "C5 B4 A4/2!", "music_length": "10",
                          "music_tempo": "120"})
    assert not at.exception and not at.error
    charts = plotly_charts(at)
    assert any(title.startswith("10 notes sampled after a primer of 3 (grey)") for title in charts)
    caption = next(c.value for c in at.caption if c.value.startswith("Sampled: "))
    assert len(caption.removeprefix("Sampled: ").split()) == 10
    sampled = next(figure for title, figure in plotly_charts(at).items() if title.startswith("10 notes"))
    primer = next(trace for trace in sampled["data"] if trace.get("name") == "primer")
    assert array(primer["y"]) == [72, 71, 69] and array(primer["x"]) == [1.0, 1.0, 2.0]  # pitches, beats


@pytest.mark.parametrize("typed, message", [
    ("G4 H4 A4", "“H4” is not a note"),
    ("G4 A4 <img src=x onerror=alert(1)>", "is not a note"),
    ("G4/0.5!", "under a fermata"),
    ("G4 " * 200, "the limit is 64"),
])
def test_a_hostile_primer_gets_a_message_and_no_melody(typed, message):
    at = open_page(PAGE, {"music_primer": "typed"})
    at.session_state["music_typed"] = typed  # past the box's max_chars, as a script could send it
    at.run()
    assert not at.exception
    assert any(message in error.value for error in at.error)
    assert len(audio_urls(at)) == 0
    assert at.dataframe  # the rest of the page still stands


def test_an_overlong_primer_in_the_address_is_refused_before_parsing():
    at = open_page(PAGE, {"music_primer": "typed", "music_typed": "G4 " * 201})  # 603 characters, the box takes 600
    assert not at.exception
    assert any("music_typed" in warning.value for warning in at.warning)
    assert at.session_state["music_typed"] == page_schemas.MUSIC_DEFAULT_PRIMER
    assert at.session_state["music_primer"] == "typed" and len(audio_urls(at)) == 2


def test_a_million_characters_in_the_address_leave_the_page_on_its_defaults():
    # Streamlit itself ignores a query string past 512 KiB: the page opens as if the address had none.
    at = open_page(PAGE, {"music_primer": "typed", "music_typed": "G4" * 500_000})
    assert not at.exception and not at.error
    assert at.session_state["music_primer"] == "chorale" and len(audio_urls(at)) == 2


def test_the_plain_rnn_is_searched_on_its_hidden_state():
    at = open_page(PAGE, {"music_arch": "rnn"})
    assert not at.exception
    assert any("units' hidden state" in caption.value for caption in at.caption)
    assert any(title.startswith("32 notes sampled after") for title in plotly_charts(at))


def test_a_session_run_of_the_chorale_task_is_the_one_sampled():
    at = open_from_home("pages/train.py")
    at.selectbox(key="task").set_value("chorales").run()
    at.multiselect(key="archs").set_value(["lstm"]).run()
    tiny_settings(at, length=12, hidden_size=8, max_steps=10)
    start_training(at)
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert any(caption.value.startswith("LSTM of your run, after 10 training steps on 12-note")
               for caption in at.caption)
    assert at.segmented_control(key="music_arch").options == ["LSTM"]
    assert list(at.dataframe[0].value["model"]) == ["LSTM", "unigram (counts)", "bigram (counts)"]

