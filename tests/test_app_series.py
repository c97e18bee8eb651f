"""AppTest for the series controls on the Train page and the Forecast and anomalies page."""

import pytest
from streamlit.testing.v1 import AppTest

from lstm_viz.data import datastore
from tests.app_support import clear_caches_and_data, open_from_home, shown, start_training  # noqa: F401 - an autouse fixture
from tests.app_support import plotly_charts as charts



def forecast_train_page() -> AppTest:
    at = open_from_home("pages/train.py")
    at.selectbox(key="preset_box").set_value("forecast-airline").run()
    assert not at.exception
    return at


def test_the_forecast_preset_shows_the_series_picker_with_its_limits():
    at = forecast_train_page()
    assert at.selectbox(key="series_picker").value == "airline"
    horizon = at.number_input(key="series_horizon")
    assert (horizon.value, horizon.min, horizon.max) == (12, 1, 24) and "1–24" in horizon.label
    assert at.number_input(key="length").max == 77
    assert any("Input window (sequence length T below): 2–77" in c.value for c in at.caption)
    at.selectbox(key="series_picker").set_value("co2").run()
    assert not at.exception
    assert at.number_input(key="series_horizon").value == 3 and at.number_input(key="series_horizon").max == 8
    assert at.number_input(key="length").value == 8 and at.number_input(key="length").max == 39
    at.number_input(key="series_horizon").set_value(5).run()
    assert at.session_state["task_options"]["forecast"] == {"series": "co2", "horizon": 5}
    # Loading a preset again brings back its own series, airline, and the length it was tuned for.
    at.selectbox(key="preset_box").set_value("vanishing-gradients").run()
    at.selectbox(key="preset_box").set_value("forecast-airline").run()
    assert not at.exception
    assert at.selectbox(key="series_picker").value == "airline" and at.number_input(key="series_horizon").value == 12
    assert at.number_input(key="length").value == 24


def test_picking_upload_without_a_file_refuses_to_train_with_a_message():
    at = forecast_train_page()
    at.selectbox(key="series_picker").set_value("upload").run()
    assert not at.exception
    assert any("upload a CSV time series first" in w.value for w in at.warning)
    at.button(key="start").click().run()
    assert "upload a CSV time series first" in at.session_state["error"]
    assert at.session_state["run"].trainer is None


def test_a_tiny_forecast_run_then_the_forecast_page_shows_it():
    at = forecast_train_page()
    at.selectbox(key="series_picker").set_value("sine").run()
    for key, value in dict(max_steps=30, hidden_size=8, batch_size=16).items():
        at.number_input(key=key).set_value(value)
    at.run()
    start_training(at, pause=0.2)
    assert not at.exception and not at.session_state["run"].running
    trainer = at.session_state["run"].trainer
    assert trainer.task.series.name == "sine" and trainer.task.horizon == 20 and trainer.step == 30
    at.switch_page("pages/forecast.py").run()
    assert not at.exception
    titles = charts(at)
    forecast = next(f for t, f in titles.items() if t.startswith("Sine + sawtooth"))
    names = [trace["name"] for trace in forecast["data"]]
    assert "RNN (tanh)" in names and "LSTM" in names and "seasonal naive (value 40 steps earlier)" in names
    assert not any("bundled run" in i.value for i in at.info)
    table = at.dataframe[0].value
    assert list(table["forecast"]) == ["RNN (tanh)", "LSTM", "naive (last value)", "seasonal naive (value 40 steps earlier)"]
    assert table["MAE / naive MAE"].iloc[2] == pytest.approx(1.0)


def test_the_forecast_page_without_a_run_shows_the_bundled_airline_run():
    at = open_from_home("pages/forecast.py")
    assert any("bundled run" in i.value for i in at.info)
    errors = at.dataframe[0].value.set_index("forecast")
    mae = errors.iloc[:, 0]
    # The shipped LSTM and RNN beat both baselines on 1959-1960.
    assert mae["LSTM"] < mae["seasonal naive (value 12 steps earlier)"] < mae["naive (last value)"]
    assert mae["RNN (tanh)"] < mae["seasonal naive (value 12 steps earlier)"]
    scores = at.dataframe[1].value
    assert list(scores["detector"]) == ["RNN (tanh)", "LSTM", "naive (last value)"]
    assert scores["precision"].between(0, 1).all() and scores["F1"].between(0, 1).all()
    first_caption = next(c.value for c in at.caption if "test values are anomalous" in c.value)
    at.number_input(key="forecast_anomaly_seed").set_value(5).run()
    assert not at.exception and at.query_params["forecast_anomaly_seed"] == "5"
    anomaly = next(f for t, f in charts(at).items() if t.startswith("Anomalies flagged by the LSTM"))
    assert any(trace["name"].startswith("injected") for trace in anomaly["data"])
    caption = next(c.value for c in at.caption if "test values are anomalous" in c.value)
    assert caption != first_caption  # other positions
    at.segmented_control(key="forecast_detector").set_value("naive").run()
    assert any(t.startswith("Anomalies flagged by the naive") for t in charts(at))


def test_uploading_a_csv_picks_columns_reports_problems_and_configures_the_run():
    at = forecast_train_page()
    at.selectbox(key="series_picker").set_value("upload").run()
    uploader = at.file_uploader(key="series_file")
    assert "20,000 rows" in uploader.help and "2 MB" in uploader.help
    rows = "".join(f"2020-01-{1 + i % 28:02d} {i // 28:02d}:00,{i % 7},{'x' if i % 2 else 'y'}\n" for i in range(60))
    bad = ("when,level,tag\n" + rows.replace(",3,", ",,")).encode()  # empty cells where the level was 3
    uploader.set_value(("mine.csv", bad, "text/csv")).run()
    assert not at.exception
    assert at.selectbox(key="series_column").options == ["level"]
    assert any("missing or non-numeric" in shown(e.value) for e in at.error)
    assert at.session_state["task_options"]["forecast"] == {"dataset": ""}
    at.radio(key="series_missing").set_value("interpolate").run()
    assert not at.exception and not at.error
    assert any("60 values of “level” ready: interpolated" in shown(s.value) for s in at.success)
    options = at.session_state["task_options"]["forecast"]
    stored = datastore.get(options["dataset"], "series")
    assert stored.name == "mine.csv" and len(stored.content["values"]) == 60
    assert options["horizon"] == 9  # 15% of 60 values for validation and test
    assert at.number_input(key="length").max == 42 - 9 - 8 + 1
    at.file_uploader(key="series_file").set_value(("photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00", "text/csv")).run()
    assert not at.exception
    assert any("not UTF-8" in shown(e.value) for e in at.error)
