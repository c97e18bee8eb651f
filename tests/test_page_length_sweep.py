"""The Length sweep page through AppTest: the precomputed chart before anything runs, a tiny sweep with
progress and then its points, Stop, settings from the URL. Every `at.run()` is one refresh of the page."""
import json

import pytest
from streamlit.testing.v1 import AppTest

from lstm_viz.runs.sweep import POINT_CACHE, load_precomputed_sweep
from tests import app_support
from tests.app_support import clear_streamlit_caches, refresh_while

PAGE = "pages/length_sweep.py"
TIMEOUT = 60
SWEEP_TIMEOUT_SECONDS = 120


@pytest.fixture(autouse=True)
def clear_caches():
    # AppTest instances share one session id, so cached values (and the process-wide point cache) would leak.
    clear_streamlit_caches()
    POINT_CACHE.clear()
    yield
    clear_streamlit_caches()
    POINT_CACHE.clear()


def sweep_page(query: dict | None = None) -> AppTest:
    return app_support.open_page(PAGE, query, timeout=TIMEOUT)


def charts(at: AppTest) -> list[dict]:
    return [json.loads(element.proto.spec) for element in at.get("plotly_chart")]


def trace(figure: dict, name: str) -> dict:
    return next(t for t in figure["data"] if t.get("name") == name)


def progress_texts(at: AppTest) -> list[str]:
    return [element.proto.text for element in at.get("progress")]


def tiny_settings(at: AppTest, lengths=("5", "10"), steps=8) -> None:
    at.multiselect(key="sweep_lengths").set_value(list(lengths))
    at.number_input(key="sweep_steps").set_value(steps)
    at.number_input(key="sweep_hidden").set_value(4)
    at.number_input(key="sweep_batch").set_value(8)


def stop_worker(at: AppTest) -> None:
    worker = at.session_state["sweep"].sweep if "sweep" in at.session_state else None
    if worker is not None:
        worker.stop()


def test_the_page_shows_the_precomputed_sweep_before_anything_runs():
    at = sweep_page()
    assert at.title[0].value.startswith("Length sweep")
    assert any(info.value.startswith("**Precomputed sweep**") for info in at.info)
    assert not at.get("progress")
    (figure,) = charts(at)
    assert "against sequence length" in figure["layout"]["title"]["text"]
    saved = load_precomputed_sweep()
    for arch, label in (("rnn", "RNN (tanh)"), ("lstm", "LSTM")):
        line = trace(figure, label)
        rows = [row for row in saved.rows if row.arch == arch]
        assert line["x"] == [row.length for row in rows]
        assert line["y"] == pytest.approx([row.final_metric for row in rows])
    assert trace(figure, "no-memory baseline")["y"][0] == pytest.approx(1 / 6)
    assert any("Arjovsky" in str(t.get("hovertext")) for t in figure["data"])
    assert len(at.dataframe[0].value) == len(saved.rows)
    # The estimate is shown before Start.
    assert any("of training on a quiet 2-core machine" in caption.value for caption in at.caption)
    assert not at.button(key="sweep_start").disabled and at.button(key="sweep_stop").disabled


def test_a_tiny_sweep_shows_progress_then_its_points():
    at = sweep_page()
    tiny_settings(at)
    at.button(key="sweep_start").click().run()
    assert not at.exception
    try:
        assert progress_texts(at), "no progress bar after Start"
        assert at.button(key="sweep_start").disabled
        refresh_while(at, lambda at: at.session_state["sweep"].running, SWEEP_TIMEOUT_SECONDS, pause=0.2,
                      check_exceptions=True)
        assert not at.session_state["sweep"].running, "the sweep did not finish"
    finally:
        stop_worker(at)
    snap = at.session_state["sweep"].sweep.snapshot()
    assert snap.status == "finished" and len(snap.rows) == 4
    assert progress_texts(at) == ["all 4 points done in " + progress_texts(at)[0].split(" done in ")[1]]
    (figure,) = charts(at)
    assert "H=4, ≤8 steps per point" in figure["layout"]["title"]["text"]
    for arch, label in (("rnn", "RNN (tanh)"), ("lstm", "LSTM")):
        rows = [row for row in snap.rows if row.arch == arch]
        assert trace(figure, label)["x"] == [5, 10]
        assert trace(figure, label)["y"] == pytest.approx([row.final_metric for row in rows])
    assert len(at.dataframe[0].value) == 4
    assert not at.button(key="sweep_start").disabled

    # Running it again takes every point from the cache.
    at.button(key="sweep_start").click().run()
    assert at.session_state["sweep"].sweep.wait(30)
    at.run()
    table = at.dataframe[0].value
    assert list(table["cached"]) == [True] * 4
    assert list(table["final_metric"]) == [row.final_metric for row in snap.rows]


def test_stop_ends_the_sweep_and_keeps_only_finished_points():
    at = sweep_page()
    tiny_settings(at, lengths=("100",), steps=20_000)
    at.button(key="sweep_start").click().run()
    try:
        assert at.session_state["sweep"].running and not at.button(key="sweep_stop").disabled
        at.button(key="sweep_stop").click().run()
        assert not at.exception
    finally:
        stop_worker(at)
    snap = at.session_state["sweep"].sweep.snapshot()
    assert snap.status == "stopped" and snap.rows == ()
    assert not at.session_state["sweep"].running and not at.button(key="sweep_start").disabled
    assert any(text.startswith("stopped: 0 of 2 points finished") for text in progress_texts(at))
    assert len(POINT_CACHE) == 0


def test_settings_come_from_the_url_and_bad_ones_are_reported():
    at = sweep_page({"sweep_lengths": "10,50,7", "sweep_steps": "300", "sweep_archs": "lstm,gru"})
    assert at.multiselect(key="sweep_lengths").value == ["10", "50"]
    assert at.number_input(key="sweep_steps").value == 300
    assert at.multiselect(key="sweep_archs").value == ["lstm", "gru"]
    assert any("length 7" in warning.value for warning in at.warning)


def test_bad_settings_show_the_config_error_not_a_traceback():
    at = sweep_page()
    at.multiselect(key="sweep_archs").set_value([]).run()
    assert any("pick at least one architecture" in warning.value for warning in at.warning)
    at.button(key="sweep_start").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == ["Check the sweep settings: pick at least one architecture"]
    assert not at.session_state["sweep"].running


def test_settings_survive_a_visit_to_another_page():
    at = sweep_page()
    at.number_input(key="sweep_steps").set_value(250)
    at.multiselect(key="sweep_lengths").set_value(["25", "200"]).run()
    at.switch_page("pages/home.py").run()
    at.switch_page(PAGE).run()
    assert not at.exception
    assert at.number_input(key="sweep_steps").value == 250
    assert at.multiselect(key="sweep_lengths").value == ["25", "200"]
