"""The Length sweep page through AppTest: the precomputed chart before anything runs, a tiny sweep with
progress and then its points, Stop, settings from the URL. Every `at.run()` is one refresh of the page."""
import json
import math

import pytest
from streamlit.testing.v1 import AppTest

from lstm_viz.runs import measurements
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


def all_charts(at: AppTest) -> list[dict]:
    return [json.loads(element.proto.spec) for element in at.get("plotly_chart")]


def charts(at: AppTest) -> list[dict]:
    """The sweep's charts (final metric against T), not the measured cost chart further down the page."""
    return [figure for figure in all_charts(at) if "against sequence length" in figure["layout"]["title"]["text"]]


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


def test_the_measured_cost_chart_and_tables_are_drawn_from_the_shipped_measurements():
    at = sweep_page()
    assert not at.exception
    cost = measurements.load_cost()
    (figure,) = [f for f in all_charts(at) if f["layout"]["title"]["text"].startswith("Cost of one training step")]
    for arch, label in (("rnn", "RNN (tanh)"), ("gru", "GRU"), ("lstm", "LSTM"), ("transformer", "Transformer")):
        points = sorted((p for p in cost["points"] if p["arch"] == arch), key=lambda p: p["length"])
        lines = [t for t in figure["data"] if t.get("name") == label]
        assert len(lines) == 2  # time and memory panels
        assert lines[0]["x"] == [p["length"] for p in points]
        assert lines[0]["y"] == pytest.approx([p["cpu_seconds_per_step"] * 1e3 for p in points])
        assert lines[1]["y"] == pytest.approx([p["peak_rss_mb"] for p in points])
    layout = figure["layout"]
    assert all(layout[axis]["type"] == "log" for axis in ("xaxis", "yaxis", "xaxis2", "yaxis2"))
    assert layout["xaxis"]["title"]["text"] == "sequence length T (steps)"
    assert "ms" in layout["yaxis"]["title"]["text"] and "MB" in layout["yaxis2"]["title"]["text"]
    # Every crossover inside the measured lengths is a vertical line at the T where transformer / recurrence = 1,
    # interpolated here on log-log axes from the raw points.
    expected = []
    for panel, quantity in ((1, "cpu_seconds_per_step"), (2, "peak_rss_mb")):
        own = {p["length"]: p[quantity] for p in cost["points"] if p["arch"] == "transformer"}
        for reference in ("rnn", "gru", "lstm"):
            theirs = {p["length"]: p[quantity] for p in cost["points"] if p["arch"] == reference}
            ratios = [(t, own[t] / theirs[t]) for t in sorted(own)]
            cheaper = [i for i, (_, r) in enumerate(ratios) if r <= 1]
            if cheaper and cheaper[-1] < len(ratios) - 1:
                (t0, r0), (t1, r1) = ratios[cheaper[-1]], ratios[cheaper[-1] + 1]
                expected.append((panel, math.exp(math.log(t0) + math.log(r0) / (math.log(r0) - math.log(r1))
                                                  * (math.log(t1) - math.log(t0)))))
    fitted = measurements.quadratic_fit(cost, "transformer", "cpu_seconds_per_step").balance
    if fitted and 25 <= fitted <= 1000:
        expected.append((1, fitted))
    # Counted by hand: one block's 2 T^2 H multiply-adds (scores, weighted sum) against (12 H^2 + D H) T (q, k, v,
    # output and a 4x feed-forward, and the input projection from D = 2 channels): equal at T = 6 H + D / 2.
    expected.append((1, 6 * cost["settings"]["hidden_size"] + 2 / 2))
    lines = [(1 if shape["xref"] == "x" else 2, shape["x0"]) for shape in layout.get("shapes", [])]
    assert sorted(lines) == pytest.approx(sorted(expected))
    # The machine and its load are stated; the streaming-state table counts floats from the configuration.
    captions = " ".join(caption.value for caption in at.caption)
    assert cost["machine"]["cpu"] in captions and "load average" in captions
    streaming = next(frame.value for frame in at.dataframe if "grows with T" in frame.value.columns)
    hidden = cost["settings"]["hidden_size"]
    by_arch = dict(zip(streaming["architecture"], streaming["T=1000"]))
    assert by_arch["LSTM"] == f"{2 * hidden:,} floats" and by_arch["GRU"] == f"{hidden:,} floats"
    assert by_arch["Transformer"] == f"{2 * 1000 * hidden:,} floats"
    # The length-generalisation table: one row per architecture and a baseline row, per task.
    result = measurements.load_length_generalisation()
    tables = [f.value for f in at.dataframe if "trained" in f.value.columns]
    assert len(tables) == len({row["task"] for row in result["rows"]})
    for table in tables:
        assert len(table) == 6 and table["architecture"].iloc[-1].startswith("no-memory baseline")


def test_the_sweep_trains_the_transformer_beside_a_recurrent_cell():
    at = sweep_page({"sweep_archs": "lstm,transformer"})
    assert at.multiselect(key="sweep_archs").value == ["lstm", "transformer"]
    tiny_settings(at, lengths=("5", "10"), steps=6)
    at.button(key="sweep_start").click().run()
    try:
        refresh_while(at, lambda at: at.session_state["sweep"].running, SWEEP_TIMEOUT_SECONDS, pause=0.2,
                      check_exceptions=True)
    finally:
        stop_worker(at)
    snap = at.session_state["sweep"].sweep.snapshot()
    assert snap.status == "finished" and [(row.length, row.arch) for row in snap.rows] == [
        (5, "lstm"), (5, "transformer"), (10, "lstm"), (10, "transformer")]
    (figure,) = charts(at)
    rows = [row for row in snap.rows if row.arch == "transformer"]
    assert trace(figure, "Transformer")["y"] == pytest.approx([row.final_metric for row in rows])
