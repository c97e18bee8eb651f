"""One validation for every way in (issue 10 F1, F3): a regression test per finding, through the way it came in.

Model files are edited from a real export (lstm_viz.io.export.model_bytes), as the hostile run did; each must be refused
with the project's own error naming the setting, before a weight is read or a model built."""
import functools
import json
import math
import struct
from dataclasses import replace

import pytest
import torch

from lstm_viz.io import cli, model_upload
from lstm_viz.rules.errors import ConfigError, ModelFileError
from lstm_viz.io.export import model_bytes
from lstm_viz.core.model import INPUT_SIZE_RANGE, ModelConfig, SequenceModel, build_model
from lstm_viz.runs.runstore import load_run_state, save_run_state
from lstm_viz.io.standalone import standalone_script
from lstm_viz.core.trainer import RunConfig, Trainer
from tests.app_support import open_page

CONFIG = RunConfig(task="adding", length=20, archs=("lstm",), hidden_size=6, max_steps=10, eval_size=32,
                   probe_size=4, trace_examples=2, seed=3)


@functools.lru_cache(maxsize=1)
def _export() -> tuple[str, bytes]:
    data = model_bytes(build_model(CONFIG.model_config("lstm"), seed=3), CONFIG, steps_trained=10)
    length = int.from_bytes(data[:8], "little")
    return data[8:8 + length].decode(), data[8 + length:]


def export() -> tuple[dict, bytes]:
    """A real export's header (a fresh dict to edit) and tensor bytes."""
    header, body = _export()
    return json.loads(header), body


def with_header(header: dict | bytes, body: bytes) -> bytes:
    raw = header if isinstance(header, bytes) else json.dumps(header, allow_nan=True).encode()
    return struct.pack("<Q", len(raw)) + raw + body


def edited(model_config: dict | None = None, run_config: dict | None = None, texts: dict | None = None) -> bytes:
    """The export with settings changed in its model or run config, or a metadata entry replaced by `texts`."""
    header, body = export()
    meta = header["__metadata__"]
    if model_config is not None:
        meta["model_config"] = json.dumps({**json.loads(meta["model_config"]), **model_config}, allow_nan=True)
    if run_config is not None:
        meta["run_config"] = json.dumps({**json.loads(meta["run_config"]), **run_config}, allow_nan=True)
    meta.update(texts or {})
    return with_header(header, body)


@pytest.fixture
def nothing_is_built(monkeypatch):
    """Fails the test if the refusal came only after a model was built or the weights were read."""
    def refuse(*args, **kwargs):
        raise AssertionError("a model was built or tensors were read before the file was refused")

    _export()  # the unedited file is made before the patches

    monkeypatch.setattr(model_upload, "load_safetensors", refuse)
    monkeypatch.setattr(SequenceModel, "__init__", refuse)


def test_the_unedited_export_is_accepted():
    upload = model_upload.read_uploaded_model(edited(), "run.safetensors")
    assert upload.run_config == replace(CONFIG, archs=("lstm",))
    assert upload.steps_trained == 10


# ----- F1: a 2 KB file made the server allocate gigabytes -----
@pytest.mark.parametrize("size", [1e8, 100_000_000])
def test_f1_a_huge_input_size_is_refused_before_anything_is_built(nothing_is_built, size):
    with pytest.raises(ModelFileError, match=f"input size must be between 1 and {INPUT_SIZE_RANGE[1]:,}"):
        model_upload.read_uploaded_model(edited(model_config={"input_size": size}), "big.safetensors")


def test_f1_huge_probe_and_eval_sets_are_refused_before_anything_is_built(nothing_is_built):
    data = edited(run_config={"probe_size": 20_000, "length": 1000, "eval_size": 100_000})
    with pytest.raises(ModelFileError, match="eval_size must be between 1 and 2,048"):
        model_upload.read_uploaded_model(data, "big.safetensors")
    with pytest.raises(ModelFileError, match="probe_size must be between 1 and 64"):
        model_upload.read_uploaded_model(edited(run_config={"probe_size": 20_000}), "big.safetensors")
    with pytest.raises(ModelFileError, match="trace_examples must be between 1 and 16"):
        model_upload.read_uploaded_model(edited(run_config={"trace_examples": 10**6}), "big.safetensors")


def test_f1_a_file_cannot_lift_the_compute_limit(nothing_is_built):
    """A file asking for max_step_gflop null still runs under the app's limit: T=1000, H=512, 3 layers is refused."""
    header, body = export()
    data = edited(run_config={"max_step_gflop": None, "length": 1000, "hidden_size": 512, "num_layers": 3},
                  model_config={"hidden_size": 512, "num_layers": 3})
    with pytest.raises(ModelFileError):
        model_upload.read_uploaded_model(data, "heavy.safetensors")


def test_f1_shapes_are_compared_with_the_header_without_building_the_model():
    for arch in ("rnn", "gru", "lstm"):
        for layers in (1, 3):
            config = ModelConfig(arch, input_size=3, output_size=2, hidden_size=5, num_layers=layers)
            built = {name: tuple(tensor.shape) for name, tensor in SequenceModel(config).state_dict().items()}
            assert config.parameter_shapes() == built


# ----- F3: model-import inputs that showed a traceback -----
@pytest.mark.parametrize("edit, message", [
    ({"model_config": {"hidden_size": 6.0}}, "hidden size must be between 1 and 512, a whole number .got 6.0, a float"),
    ({"model_config": {"num_layers": 1.5}}, "layers must be between 1 and 3, a whole number .got 1.5"),
    ({"model_config": {"num_layers": True}}, "layers must be between 1 and 3, a whole number .got True, a bool"),
    ({"model_config": {"input_size": 0}}, f"input size must be between 1 and {INPUT_SIZE_RANGE[1]:,} .got 0"),
    ({"model_config": {"output_size": -3}}, "output size must be between 1 and 256 .got -3"),
    ({"model_config": {"dropout": math.nan}}, "dropout must be in .0, 1. .got nan"),
    ({"run_config": {"seed": 2**70}}, "seed must be between 0 and 2,147,483,647 .got a 22-digit number"),
    ({"run_config": {"seed": "7"}}, "seed must be between 0 and 2,147,483,647, a whole number .got '7', a str"),
    ({"run_config_text": "[]"}, "run config: it must be a JSON object of settings, not list"),
    ({"model_config_text": "[" * 5000}, "model config: its model_config nests 5,000 levels deep; at most 3"),
    ({"run_config_text": '{"a":' * 2000 + "1" + "}" * 2000}, "run config: its run_config nests 2,000 levels"),
    ({"run_config_text": "[" * 30000}, "run config: its run_config is 30,000 characters long; at most 16,384"),
    ({"run_config_text": '{"a":' * 20000}, "its header is 1.*bytes long; this app's model files have headers under 64 kB"),
])
def test_f3_edited_configs_are_refused_with_a_message_naming_the_setting(nothing_is_built, edit, message):
    metadata = {}
    if "run_config_text" in edit:
        metadata["run_config"] = edit["run_config_text"]
    if "model_config_text" in edit:
        metadata["model_config"] = edit["model_config_text"]
    data = edited(edit.get("model_config"), edit.get("run_config"), metadata)
    with pytest.raises(ModelFileError, match=message):
        model_upload.read_uploaded_model(data, "edited.safetensors")


def test_configs_that_disagree_name_the_setting(nothing_is_built):
    data = edited(run_config={"task": "copy", "length": 30})
    with pytest.raises(ModelFileError, match="disagree .*input_size 2 in the model config, 10 in the run config"):
        model_upload.read_uploaded_model(data, "edited.safetensors")


def test_f3_a_deeply_nested_header_is_refused_before_json_recursion(nothing_is_built):
    _, body = export()
    for header in (b"[" * 5000 + b"]" * 5000, b'{"a":' * 5000 + b"1" + b"}" * 5000):
        with pytest.raises(ModelFileError, match="header.* nests 5,000 levels deep"):
            model_upload.read_uploaded_model(with_header(header, body), "deep.safetensors")


def test_a_header_cut_inside_a_long_string_is_refused(nothing_is_built):
    """Found by bench/fuzz.py: the depth scan's string regex retried a failing match from every later quote (5.7 s)."""
    header, body = export()
    header["__metadata__"]["format"] = '{"a":' * 33_600
    data = with_header(header, body)
    data = (49_824).to_bytes(8, "little") + data[8:]
    with pytest.raises(ModelFileError, match="not a readable safetensors file"):
        model_upload.read_uploaded_model(data, "cut.safetensors")


def test_f3_metadata_that_is_not_text_is_refused(nothing_is_built):
    header, body = export()
    header["__metadata__"]["model_config"] = {"arch": "lstm"}
    with pytest.raises(ModelFileError, match="damaged metadata"):
        model_upload.read_uploaded_model(with_header(header, body), "x.safetensors")


# ----- the same checks for every other way in -----
@pytest.mark.parametrize("change, message", [
    ({"hidden_size": 6.0}, "hidden size must be between 1 and 512, a whole number"),
    ({"num_layers": True}, "layers must be between 1 and 3, a whole number"),
    ({"seed": 2**70}, "seed must be between 0 and 2,147,483,647"),
    ({"seed": -1}, "seed must be between 0 and 2,147,483,647"),
    ({"eval_size": 100_000}, "eval_size must be between 1 and 2,048"),
    ({"learning_rate": math.inf}, "learning rate must be between"),
    ({"stop_when_solved": "yes"}, "stop_when_solved must be true or false"),
    ({"task_options": (("series", "x" * 5000),)}, "the adding task takes no options|task option 'series' may be"),
    ({"task": ["adding"]}, "task must be one of"),
])
def test_run_config_types_are_checked_before_a_tensor_is_allocated(monkeypatch, change, message):
    monkeypatch.setattr(torch, "Generator", lambda *a, **k: pytest.fail("a tensor stream was made first"))
    with pytest.raises(ConfigError, match=message):
        Trainer(replace(CONFIG, **change))


def test_a_shipped_run_with_an_edited_config_is_refused(tmp_path):
    trainer = Trainer(replace(CONFIG, max_steps=2, eval_every=1, probe_every=1))
    while not trainer.finished:
        trainer.train_step()
    folder = save_run_state(trainer, tmp_path / "run")
    document = json.loads((folder / "run.json").read_text())
    document["config"]["eval_size"] = 100_000
    (folder / "run.json").write_text(json.dumps(document))
    with pytest.raises(ModelFileError, match="eval_size must be between 1 and 2,048"):
        load_run_state(folder)
    (folder / "run.json").write_text('{"format": ' + "[" * 4999)
    with pytest.raises(ModelFileError, match="nests 5,000 levels deep"):
        load_run_state(folder)


def test_the_cli_refuses_bad_settings_with_the_same_message(tmp_path, capsys):
    assert cli.main(["train", "--seed", "-1", "--out", str(tmp_path)]) == 2
    assert "seed must be between 0 and 2,147,483,647" in capsys.readouterr().err
    assert cli.main(["train", "--threads", "100000", "--out", str(tmp_path)]) == 2
    assert "--threads must be between 1 and 64" in capsys.readouterr().err
    assert cli.main(["train", "--cell-threads", "0", "--out", str(tmp_path)]) == 2
    assert "--cell-threads must be between 1 and 64" in capsys.readouterr().err


def test_the_standalone_script_refuses_a_config_outside_the_limits():
    with pytest.raises(ConfigError, match="seed must be between"):
        standalone_script(replace(CONFIG, seed=2**70))


# ----- F3: URL values that crashed a page -----
@pytest.mark.parametrize("page, query, warned", [
    ("pages/try_it.py", {"try_source": "brackets-rnn-lstm", "try_temperature": "0"}, "try_temperature"),
    ("pages/try_it.py", {"try_source": "brackets-rnn-lstm", "try_sample_length": "0"}, "try_sample_length"),
    ("pages/train.py", {"task_options": "[" * 5000}, "task_options"),
])
def test_f3_bad_url_values_get_the_page_warning_not_a_traceback(page, query, warned):
    at = open_page(page, query)  # asserts no exception element
    assert any(warned in warning.value for warning in at.warning), [w.value for w in at.warning]
