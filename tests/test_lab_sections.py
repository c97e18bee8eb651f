"""The Best-practice lab's overfitting, normalisation and baseline sections, driven as a user drives them (AppTest):
each draws, runs on tiny settings through the server's scheduler, and shows its chart, table and a takeaway that
matches the table's numbers; Stop ends a run and keeps nothing; the same settings again come from the cache."""
import json
import re
import time

import pytest

from lstm_viz.ui.lab import practice_jobs
from tests.app_support import clear_caches, open_page  # noqa: F401 - clear_caches is an autouse fixture

LAB = "pages/best_practice_lab.py"
RUN_SECONDS = 90


def run_to_end(at, kind: str) -> None:
    at.button(key=f"lab_{kind}_run").click().run()
    deadline = time.monotonic() + RUN_SECONDS
    while at.session_state[f"_lab_job_{kind}"].alive:
        assert not at.exception, at.exception
        assert time.monotonic() < deadline, "the experiment did not finish"
        time.sleep(0.2)
        at.run()
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def chart(at, title_start: str) -> dict:
    for element in at.get("plotly_chart"):
        figure = json.loads(element.proto.spec)
        if figure["layout"]["title"]["text"].startswith(title_start):
            return figure
    raise AssertionError(f"no chart titled {title_start!r}")


def number(text: str) -> float:
    return float(text)


def test_overfitting_runs_and_its_takeaway_is_the_table_s_numbers():
    at = open_page(LAB, {"lab_practice": "overfitting", "lab_fit_steps": "400", "lab_fit_hidden": "32"})
    assert at.button(key="lab_overfitting_run").label == "Run the experiment"
    run_to_end(at, "overfitting")
    takeaway = at.info[0].value
    table = at.dataframe[0].value
    plain = table[table["arm"] == "none of them"].iloc[0]
    assert f"{plain['validation loss reported']:.3g}" in takeaway
    assert takeaway.startswith("With none of them")
    figure = chart(at, "Overfitting on Sunspot number")
    stars = [t for t in figure["data"] if t.get("marker", {}).get("symbol") == "star"]
    assert len(stars) == 1 + 5  # the plain arm's on the left, one per arm on the right
    early = table[table["arm"] == "early stopping"].iloc[0]
    assert early["of the weights at step"] == early["best step"]  # restored: scored at its best checkpoint
    assert early["validation loss reported"] == early["best validation loss"]
    # It ran as a job of the server's one scheduler, which admitted it like any training.
    from lstm_viz.ui import services

    assert [t.kind for t in services.scheduler().admissions].count("lab-overfitting") == 1
    # The same settings again: from the server's store, at once, the Run button off.
    again = open_page(LAB, {"lab_practice": "overfitting", "lab_fit_steps": "400", "lab_fit_hidden": "32"})
    assert again.info[0].value == takeaway and again.button(key="lab_overfitting_run").disabled
    assert [t.kind for t in services.scheduler().admissions].count("lab-overfitting") == 1  # no second job


def test_normalisation_runs_and_reports_both_errors_in_the_series_units():
    at = open_page(LAB, {"lab_practice": "normalisation", "lab_norm_series": "co2", "lab_norm_steps": "300"})
    run_to_end(at, "normalisation")
    table = at.dataframe[0].value
    raw, standard = table["test MAE (ppm)"].iloc[0], table["test MAE (ppm)"].iloc[1]
    takeaway = at.info[0].value
    assert f"{raw:.3g}" in takeaway and f"{standard:.3g}" in takeaway and "ppm" in takeaway
    assert chart(at, "CO₂ at Mauna Loa")["layout"]["yaxis"]["title"]["text"] == "ppm"


def test_the_baseline_runs_every_forecaster_and_names_the_winner():
    at = open_page(LAB, {"lab_practice": "baseline", "lab_base_series": "sunspots", "lab_base_steps": "200"})
    run_to_end(at, "baseline")
    table = at.dataframe[0].value
    assert {"LSTM", "GRU", "RNN (tanh)", "naive (last value)"} <= set(table["method"])
    assert any(name.startswith("ETS(") for name in table["method"])
    assert any(name.startswith("ARIMA(") for name in table["method"])
    winner = table.loc[table["test MAE (sunspot number)"].idxmin()]
    assert bool(winner["winner"])
    assert (table["seconds"] >= 0).all()
    names = {"LSTM": "the LSTM", "GRU": "the GRU", "RNN (tanh)": "the RNN"}
    expected = names.get(winner["method"], re.match(r"[A-Z]+", winner["method"]).group(0))
    assert at.info[0].value.startswith(f"Lowest test MAE: {expected} on sunspots.")
    assert chart(at, "Test MAE")


def test_stop_ends_a_run_and_keeps_nothing():
    at = open_page(LAB, {"lab_practice": "overfitting", "lab_fit_steps": "1600", "lab_fit_hidden": "128"})
    at.button(key="lab_overfitting_run").click().run()
    assert at.button(key="lab_overfitting_stop").disabled is False
    at.button(key="lab_overfitting_stop").click().run()
    job = at.session_state["_lab_job_overfitting"]
    assert job.view.wait(30), "the stopped job did not end"
    at.run()
    assert not at.exception
    assert any("Stopped" in w.value for w in at.warning)
    assert practice_jobs.stored("overfitting", job.key) is None
    assert not at.button(key="lab_overfitting_run").disabled


@pytest.mark.parametrize("practice", ["overfitting", "normalisation", "baseline"])
def test_each_section_draws_its_settings_and_no_result_before_a_run(practice):
    at = open_page(LAB, {"lab_practice": practice})
    assert not at.exception and not at.error
    assert not at.button(key=f"lab_{practice}_run").disabled and at.button(key=f"lab_{practice}_stop").disabled
    assert not at.get("plotly_chart")


def test_the_baseline_with_no_series_asks_for_one():
    at = open_page(LAB, {"lab_practice": "baseline"})
    at.multiselect(key="lab_base_series").set_value([]).run()
    assert not at.exception
    assert any("at least one series" in w.value for w in at.warning)
    assert not any(b.key == "lab_baseline_run" for b in at.button)
