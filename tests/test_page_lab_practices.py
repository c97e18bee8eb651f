"""The Best-practice lab's consistent-lengths, tuning and stacking sections through AppTest: each renders, runs on
tiny settings through the server's scheduler, and shows its result, its charts and the takeaway computed from the
result it shows; Stop keeps what finished; bad settings get a message. Every `at.run()` is one refresh."""
import base64
import json

import numpy as np
import pytest

from lstm_viz.practices import lengths, stacking, step_timing, tuning
from lstm_viz.practices.grid_points import point_run_config
from lstm_viz.runs.sweep import POINT_CACHE, SweepRow
from tests import app_support
from tests.app_support import clear_streamlit_caches, refresh_while

PAGE = "pages/best_practice_lab.py"
RUN_SECONDS = 90
TINY = {
    "lengths": {"lab_len_min": "3", "lab_len_max": "8", "lab_len_cut": "4", "lab_len_hidden": "4",
                "lab_len_steps": "5"},
    "tuning": {"lab_tune_lrs": "0.01", "lab_tune_hiddens": "8,16", "lab_tune_batches": "16", "lab_tune_steps": "5"},
    "stacking": {"lab_stack_hidden": "4", "lab_stack_steps": "5"},
}


@pytest.fixture(autouse=True)
def clear_caches():
    # AppTest instances share one session id; the point cache and the lengths results are per process.
    clear_streamlit_caches()
    POINT_CACHE.clear()
    lengths.RESULTS.clear()
    step_timing.TIMINGS.clear()
    yield
    clear_streamlit_caches()
    POINT_CACHE.clear()
    lengths.RESULTS.clear()
    step_timing.TIMINGS.clear()


def handle(at, name):
    return at.session_state[f"lab-experiment:{name}"]


def run_practice(name: str, extra: dict | None = None):
    at = app_support.open_page(PAGE, {"lab_practice": name, **TINY[name], **(extra or {})})
    assert any(info.value.startswith("Run trains") for info in at.info)
    at.button(key=f"labrun_{name}_start").click().run()
    assert not at.exception, at.exception
    try:
        refresh_while(at, lambda at: handle(at, name).running, RUN_SECONDS, pause=0.2, check_exceptions=True)
        assert not handle(at, name).running, "the experiment did not finish"
    finally:
        handle(at, name).experiment.stop()
    snapshot = handle(at, name).experiment.snapshot()
    assert snapshot.status == "finished", snapshot.error
    return at, snapshot.partial


def values(array) -> list:
    """A trace's array: a list, or Plotly's typed-array form {"dtype", "bdata": base64}."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"])).tolist()
    return list(array)


def figures(at) -> dict:
    return {json.loads(e.proto.spec)["layout"]["title"]["text"]: json.loads(e.proto.spec)
            for e in at.get("plotly_chart")}


def test_the_lengths_section_runs_and_shows_the_three_metrics_the_gates_and_the_takeaway():
    at, result = run_practice("lengths")
    assert [s.value for s in at.success] == [lengths.lengths_takeaway(result)]
    table = at.dataframe[0].value
    assert list(table["variant"]) == ["padded + packed", "padded, not packed", "truncated"]
    assert list(table["test MSE"]) == pytest.approx([result.metrics[v] for v in lengths.VARIANTS])
    charts = figures(at)
    gates = next(figure for title, figure in charts.items() if title.startswith("One test example"))
    packed = [t for t in gates["data"] if t["name"] == "padded + packed"]
    padded = [t for t in gates["data"] if t["name"] == "padded, not packed"]
    assert len(packed) == len(padded) == 5  # input, forget, output gate, |cell state|, prediction
    # The packed model stops at the example's true length; the unpacked one reads all the padding.
    assert len(values(packed[1]["x"])) == result.trace["length"]
    assert len(values(padded[1]["x"])) == result.trace["max_length"] == 8
    assert values(padded[1]["y"]) == pytest.approx(result.trace["padded"]["forget_gate"], abs=1e-6)
    assert "Test error of the three ways over training" in charts


def test_the_tuning_section_runs_a_grid_and_shows_its_heatmap_and_takeaway():
    at, result = run_practice("tuning")
    assert [s.value for s in at.success] == [tuning.tuning_takeaway(result)]
    assert [point.hidden_size for point, _ in result.cells()] == [8, 16]
    (title,) = [t for t in figures(at) if t.startswith("Tuning grid")]
    assert title == "Tuning grid: seconds to solve (steps x measured time per step)"
    at.segmented_control(key="lab_tune_view").set_value("metric").run()
    assert "Tuning grid: final test MSE" in figures(at)
    # Asked again, the grid comes from the server's point cache: every point at once, nothing trained.
    at.button(key="labrun_tuning_start").click().run()
    assert handle(at, "tuning").experiment.wait(30)
    at.run()
    again = handle(at, "tuning").experiment.snapshot().partial
    assert all(row.cached for row in again.rows)
    assert any("all already computed on this server" in caption.value for caption in at.caption)


def test_the_stacking_section_runs_three_depths_and_shows_their_cost():
    at, result = run_practice("stacking")
    assert [s.value for s in at.success] == [stacking.stacking_takeaway(result)]
    table = at.dataframe[0].value
    assert list(table["layers"]) == [1, 2, 3]
    assert list(table["parameters"]) == [result.config.parameter_count(n) for n in (1, 2, 3)]
    assert "Stacking: what each extra layer buys and costs" in figures(at)


def test_stop_ends_a_grid_and_keeps_what_finished():
    at = app_support.open_page(PAGE, {"lab_practice": "tuning", **TINY["tuning"], "lab_tune_steps": "5000",
                                      "lab_tune_hiddens": "64"})
    at.button(key="labrun_tuning_start").click().run()
    try:
        assert handle(at, "tuning").running and not at.button(key="labrun_tuning_stop").disabled
        at.button(key="labrun_tuning_stop").click().run()
        assert not at.exception
    finally:
        handle(at, "tuning").experiment.stop()
    assert handle(at, "tuning").experiment.snapshot().status == "stopped"
    at.run()
    assert any(info.value.startswith("Stopped") for info in at.info)
    assert not at.button(key="labrun_tuning_start").disabled
    assert len(POINT_CACHE) == 0  # the point stopped part-way is not cached


def test_stop_keeps_the_points_already_done_on_the_heatmap():
    at = app_support.open_page(PAGE, {"lab_practice": "tuning", **TINY["tuning"], "lab_tune_steps": "5000",
                                      "lab_tune_view": "metric"})
    config = tuning.TuningConfig(learning_rates=(0.01,), hidden_sizes=(8, 16), batch_sizes=(16,), steps_per_point=5000)
    first = config.points()[0]
    done = SweepRow(task="adding", arch="lstm", label="LSTM", length=50, seed=0, metric_name="MSE", final_metric=0.0421,
                    best_metric=0.0421, baseline=1 / 6, solved_threshold=0.01, solved_step=None, steps_trained=5000,
                    status="budget", wall_seconds=1.0, train_seconds=1.0)
    POINT_CACHE.put(point_run_config(config.sweep_config(first)), done)  # trained earlier on this server
    at.button(key="labrun_tuning_start").click().run()
    try:
        refresh_while(at, lambda at: (handle(at, "tuning").experiment.snapshot().partial is None
                                      or handle(at, "tuning").experiment.snapshot().partial.rows[0] is None),
                      RUN_SECONDS, pause=0.2)
        at.button(key="labrun_tuning_stop").click().run()
    finally:
        handle(at, "tuning").experiment.stop()
    at.run()
    assert any(info.value.startswith("Stopped") for info in at.info)
    assert any(info.value.startswith("So far: ") and "0.0421" in info.value for info in at.info)
    heatmap = figures(at)["Tuning grid: final test MSE"]
    texts = [cell for trace in heatmap["data"] if trace["type"] == "heatmap" for row in trace["text"] for cell in row]
    assert texts == ["0.0421", "…"]  # hidden 8 kept, hidden 16 stopped before it finished


def test_a_second_session_with_the_same_settings_watches_the_first_one_s_run_and_trains_nothing():
    link = {"lab_practice": "lengths", **TINY["lengths"], "lab_len_steps": "20000"}
    first, second = app_support.open_page(PAGE, link), app_support.open_page(PAGE, link)
    first.button(key="labrun_lengths_start").click().run()
    try:
        second.button(key="labrun_lengths_start").click().run()
        running = handle(first, "lengths").experiment
        assert handle(second, "lengths").experiment is running and handle(second, "lengths").joined
        assert not handle(first, "lengths").joined
        assert any("not trained twice" in (bar.proto.text or "") for bar in second.get("progress"))
        first.button(key="labrun_lengths_stop").click().run()
        assert running.alive, "the first session's Stop must not end the run the second one watches"
        assert not first.exception and not first.button(key="labrun_lengths_start").disabled
        second.button(key="labrun_lengths_stop").click().run()
        assert not running.alive and running.snapshot().status == "stopped"
    finally:
        running.stop()


def test_bad_settings_get_a_message_and_no_run():
    at = app_support.open_page(PAGE, {"lab_practice": "lengths", "lab_len_min": "30", "lab_len_max": "20"})
    assert any("must be below the longest" in warning.value for warning in at.warning)
    assert at.button(key="labrun_lengths_start").disabled
    at = app_support.open_page(PAGE, {"lab_practice": "tuning"})
    at.multiselect(key="lab_tune_lrs").set_value([]).run()
    assert any("pick at least one of the learning rates" in warning.value for warning in at.warning)
