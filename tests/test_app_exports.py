"""AppTest: the Train page's Download section after a run, and the Import a model page (refusal and a good upload
that the Train page then explores)."""
import io
import json
import pickle
import zipfile

from streamlit.testing.v1 import AppTest

from lstm_viz.io import export
from lstm_viz.core.trainer import RunConfig, Trainer
from tests.app_support import clear_caches, open_from_home, tiny_settings, train_until_done  # noqa: F401
from tests.test_app import plotly_charts, texts, train_page

DOWNLOAD_KEYS = ["download_model", "download_metrics", "download_traces_csv", "download_traces_npz", "download_charts",
                 "download_script"]


def download_keys(at: AppTest) -> list[str]:
    return [button.key for button in at.get("download_button")]


def test_download_section_appears_after_a_run_with_every_artefact():
    at = train_page()
    assert "Download this run" not in [h.value for h in at.subheader]  # nothing trained yet
    tiny_settings(at, max_steps=10, length=10)
    train_until_done(at)
    assert "Download this run" in [h.value for h in at.subheader]
    keys = download_keys(at)
    for key in DOWNLOAD_KEYS:
        assert key in keys
    assert not at.get("download_button")[keys.index("download_charts")].proto.disabled
    # Every chart's camera button saves a PNG named after the chart, at twice the screen resolution.
    configs = [json.loads(element.proto.config) for element in at.get("plotly_chart")]
    assert len(configs) >= 5
    names = {config["toImageButtonOptions"]["filename"] for config in configs}
    assert {"test_metric_while_training", "gradient_per_time_step", "lstm_gates_step10_example1"} <= names
    assert all(config["toImageButtonOptions"]["scale"] == 2 for config in configs)


def test_copy_task_offers_the_script_too():
    at = train_page()
    at.selectbox(key="task").set_value("copy").run()
    tiny_settings(at, max_steps=5, length=4)
    train_until_done(at)
    assert "download_script" in download_keys(at)


def model_file() -> bytes:
    config = RunConfig(task="adding", length=10, archs=("lstm",), hidden_size=6, batch_size=8, max_steps=5,
                       eval_every=5, eval_size=32, probe_every=5, probe_size=4, trace_examples=2, seed=2)
    trainer = Trainer(config)
    while not trainer.finished:
        trainer.train_step()
    return zipfile.ZipFile(io.BytesIO(export.model_zip_bytes(trainer))).read("lstm.safetensors")


def import_page() -> AppTest:
    at = open_from_home("pages/import_model.py")
    assert at.title[0].value == "Import a model"
    return at


def test_import_page_refuses_a_pickle_with_a_message(tmp_path):
    at = import_page()
    at.file_uploader(key="import_model_file").set_value(("model.pt", pickle.dumps({"w": 1}), "application/octet-stream"))
    at.run()
    assert not at.exception
    assert "Refused: model.pt is a Python pickle" in texts(at)
    assert at.session_state["run"].trainer is None


def test_an_imported_model_is_explored_on_the_train_page():
    at = import_page()
    at.file_uploader(key="import_model_file").set_value(("lstm.safetensors", model_file(), "application/octet-stream"))
    at.run()
    assert not at.exception
    message = texts(at)
    assert "Loaded **LSTM**" in message and "Adding problem, T = 10" in message and "trained 5 steps" in message
    at.switch_page("pages/train.py").run()
    assert not at.exception
    charts = plotly_charts(at)
    assert any(title.startswith("LSTM at step 5") for title in charts)  # the gate heatmaps of the imported weights
    assert "download_model" in download_keys(at)
    assert at.button(key="start").disabled is False  # a new run can start and replaces the imported one
