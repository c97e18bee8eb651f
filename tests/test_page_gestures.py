"""The Gestures page in Streamlit's AppTest. There is no browser here, so the canvas returns its initial drawing:
the example stroke the page put on it (a real mouse drawing is the browser test's). The page opens on the circle
read by the shipped cells, an example button puts another shape on the canvas, Clear empties it, a scribble is
"not sure", a link sets the view, and a session run of the gestures task can be read instead of the shipped one."""
import pytest

from lstm_viz.core.tasks.gesture_shapes import CLASSES
from lstm_viz.ui.page_schemas import GEST_EXAMPLES
from tests.app_support import clear_caches  # noqa: F401 - autouse fixture
from tests.app_support import open_from_home, open_page, plotly_charts, start_training, tiny_settings

PAGE = "pages/gestures.py"
CELLS = ("RNN (tanh)", "GRU", "LSTM")


def answers(at) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def button_for(at, name: str):
    return at.button(key=f"gest_ex_{GEST_EXAMPLES.index(name)}")


def test_the_page_opens_on_the_circle_read_by_the_three_shipped_cells():
    at = open_page(PAGE)
    assert at.title[0].value == "Gestures"
    found = answers(at)
    assert set(found) == set(CELLS) and found["LSTM"] == "circle" and found["GRU"] == "circle"
    charts = plotly_charts(at)
    growth = next(title for title in charts if title.startswith("LSTM: circle"))
    # One curve per likely class, the circle's the thick one, over the fraction of the stroke read.
    assert any(trace["name"] == "circle" and trace["line"]["width"] == 4 for trace in charts[growth]["data"])
    along = next(title for title in charts if "at every point it read" in title)
    panels = [a["text"] for a in charts[along]["layout"]["annotations"]]
    assert [p.split(",")[0] for p in panels] == ["input gate i<sub>t</sub>", "forget gate f<sub>t</sub>",
                                                 "output gate o<sub>t</sub>", "cell state c<sub>t</sub>"]
    assert any(title.startswith("The same drawing read by each cell") for title in charts)
    assert any("resampled to 32 points" in caption.value for caption in at.caption)
    assert at.selectbox(key="gest_unit").value == -1 and "follows the total turning" in \
        at.selectbox(key="gest_unit").format_func(-1)


def test_an_example_button_draws_its_shape_and_clear_empties_the_canvas():
    at = open_page(PAGE)
    button_for(at, "star").click().run()
    assert not at.exception
    assert at.session_state["gest_example"] == "star" and at.query_params["gest_example"] == "star"
    assert answers(at)["LSTM"] == "star" and answers(at)["GRU"] == "star"
    at.button(key="gest_clear").click().run()
    assert not at.exception and not at.metric and not plotly_charts(at)
    assert any("canvas is empty" in info.value for info in at.info)


def test_every_example_shape_is_named_by_the_gated_cells_and_a_scribble_is_doubted():
    at = open_page(PAGE)
    for name in CLASSES:
        assert button_for(at, name).help == name
        button_for(at, name).click().run()
        assert answers(at)["LSTM"] == name and answers(at)["GRU"] == name, (name, answers(at))
    button_for(at, "scribble").click().run()
    assert answers(at)["LSTM"] == "not sure" and answers(at)["GRU"] == "not sure"


def test_a_link_sets_the_example_cell_and_unit_and_refuses_what_does_not_fit():
    at = open_page(PAGE, {"gest_example": "pigtail", "gest_arch": "gru", "gest_unit": "5"})
    assert not at.warning and answers(at)["GRU"] == "pigtail"
    titles = list(plotly_charts(at))
    assert any(t.startswith("GRU: pigtail") for t in titles) and any("memory of unit 5 " in t for t in titles)
    assert at.segmented_control(key="gest_arch").value == "gru" and at.selectbox(key="gest_unit").value == 5
    # The shipped units are 0..31; no session run to read; no such shape: each named in the warning.
    at = open_page(PAGE, {"gest_unit": "32", "gest_source": "session", "gest_example": "hexagon"})
    assert not at.exception
    warning = " ".join(w.value for w in at.warning)
    assert "gest_unit" in warning and "gest_source" in warning and "gest_example" in warning
    assert at.selectbox(key="gest_unit").value == -1 and answers(at)["LSTM"] == "circle"


def test_a_session_run_of_the_gestures_task_reads_the_drawing():
    at = open_from_home("pages/train.py")
    at.selectbox(key="task").set_value("gestures").run()
    tiny_settings(at, length=16, hidden_size=8, max_steps=10)
    start_training(at)
    assert not at.session_state["run"].running and not at.exception
    at.switch_page(PAGE).run()
    assert at.radio(key="gest_source").options == ["Shipped: RNN, GRU and LSTM", "Your run (Train page)"]
    at.radio(key="gest_source").set_value("session").run()
    assert not at.exception, at.exception
    assert any("resampled to 16 points" in caption.value for caption in at.caption)
    trained = set(at.session_state["run"].trainer.runs)
    labels = {"rnn": "RNN (tanh)", "gru": "GRU", "lstm": "LSTM"}
    assert set(answers(at)) == {labels[arch] for arch in trained}


class _Drawn:
    """What streamlit-drawable-canvas returns, standing in for a browser's drawing."""
    def __init__(self, json_data):
        self.json_data = json_data


@pytest.mark.parametrize("path, message", [
    ([["M", 10, 10]] + [["L", 10 + i % 50, 10 + i // 50] for i in range(2500)], "more than 2000 points"),
    ([["M", 10, 10], ["L", float("nan"), 30], ["L", 50, 50]], "not a finite number"),
    ([["M", 10, 10]], "single point"),
    ([["M", 10, 10], ["L", 11, 11], ["L", 10, 12]], "a dot"),
    ([], "canvas is empty"),
])
def test_a_hostile_or_empty_drawing_gets_a_message_not_a_traceback(monkeypatch, path, message):
    drawing = {"objects": [{"type": "path", "path": path}]} if path else {"objects": []}
    monkeypatch.setattr("lstm_viz.ui.gestures.sections.draw_canvas", lambda **_: _Drawn(drawing))
    at = open_page(PAGE)
    assert not at.exception and not at.metric and not plotly_charts(at)
    assert any(message in box.value for box in [*at.error, *at.info]), [e.value for e in at.error]
