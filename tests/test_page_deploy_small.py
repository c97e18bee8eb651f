"""The Deploy small page in Streamlit's AppTest: it renders on a shipped run, compresses a tiny model trained in the
session (through the server's scheduler), and then shows the chart, the table, the gate views and a download per
variant, with no exception."""
from tests.app_support import clear_caches  # noqa: F401 - autouse fixture
from tests.app_support import open_from_home, open_page, plotly_charts, start_training, tiny_settings

PAGE = "pages/deploy_small.py"
CHART_TITLES = ("Gate values with float32 and with int8 weights",
                "One test sequence: the state, float32 against int8 weights")


def test_the_page_renders_on_a_shipped_run_and_waits_for_the_button():
    at = open_page(PAGE)
    assert at.title[0].value == "Deploy small"
    assert at.radio(key="deploy_source").options == ["Shipped: adding problem, T = 100",
                                                     "Shipped: sentiment of reviews"]
    assert at.segmented_control(key="deploy_arch").value == "lstm"
    assert any("Compress and measure" in info.value for info in at.info)
    assert not plotly_charts(at)


def test_a_tiny_session_model_is_compressed_and_every_view_appears():
    at = open_from_home("pages/train.py")
    tiny_settings(at, length=12, hidden_size=8, max_steps=10)
    start_training(at)
    assert not at.session_state["run"].running and not at.exception
    at.switch_page(PAGE).run()
    at.radio(key="deploy_source").set_value("session").run()
    at.selectbox(key="deploy_fine_tune").set_value(25).run()
    at.button(key="deploy_compress").click().run(timeout=120)
    assert not at.exception, at.exception
    charts = plotly_charts(at)
    tradeoff = next(title for title in charts if title.startswith("Every variant"))
    assert "LSTM" in tradeoff and "T = 12" in tradeoff and "hidden size 8" in tradeoff
    assert all(title in charts for title in CHART_TITLES)
    # The trade-off chart: one point per variant in each panel, sizes in kB against the metric and the latency.
    points = [trace for trace in charts[tradeoff]["data"] if trace["type"] == "scatter"]
    assert len(points) == 2 * 12
    table = at.dataframe[0].value
    assert len(table) == 12 and "pruned 90% + fine-tune 25 steps" in list(table["variant"])
    downloads = [element for element in at.get("download_button")]
    assert len(downloads) == 12
    # How latency was measured is said beside the chart.
    assert any("time.perf_counter" in caption.value and "one torch thread" in caption.value for caption in at.caption)
    sizes = dict(zip(table["variant"], table["bytes"]))
    assert sizes["float16 weights"] < sizes["float32"]
    # One download per variant, labelled with its name (the buttons stand in three columns).
    assert sorted(button.proto.label.rsplit(" (", 1)[0] for button in downloads) == sorted(table["variant"])


def test_a_session_run_of_only_a_transformer_is_refused_with_a_message():
    at = open_from_home("pages/train.py")
    at.multiselect(key="archs").set_value(["transformer"]).run()
    tiny_settings(at, length=12, hidden_size=8, max_steps=10)
    start_training(at)
    assert not at.exception
    at.switch_page(PAGE).run()
    at.radio(key="deploy_source").set_value("session").run()
    assert not at.exception, at.exception
    assert any("compresses recurrent cells only" in warning.value for warning in at.warning)
    assert [button for button in at.button if button.key == "deploy_compress"] == []  # nothing to press


def test_a_compression_stopped_by_the_servers_time_limit_says_so(monkeypatch):
    # A cap far below one variant's time: the job stops after its first variant, and the page says why it shows none.
    monkeypatch.setenv("LSTM_VIZ_RUN_SECONDS", "0.001")
    at = open_page(PAGE, {"deploy_source": "sentiment-rnn-lstm"})
    at.button(key="deploy_compress").click().run(timeout=120)
    assert not at.exception, at.exception
    assert any("stopped before every variant was measured" in warning.value for warning in at.warning)
    assert not plotly_charts(at)
