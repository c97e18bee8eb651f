"""Uploading a model: only this app's .safetensors files are accepted; everything else is refused with a message
that says why, and nothing is ever unpickled. A good upload becomes a run that shows the original examples."""
import builtins
import io
import json
import pickle
import zipfile

import pytest
import torch
from safetensors.torch import load, save

from lstm_viz.io import export
from lstm_viz.rules.errors import ModelFileError
from lstm_viz.io.model_upload import read_uploaded_model, trainer_from_upload
from lstm_viz.core.trainer import RunConfig, Trainer

CONFIG = RunConfig(task="adding", length=10, archs=("rnn", "lstm"), hidden_size=6, batch_size=16, max_steps=15,
                   eval_every=5, eval_size=64, probe_every=5, probe_size=4, trace_examples=2, seed=4)


@pytest.fixture(scope="module")
def finished():
    trainer = Trainer(CONFIG)
    while not trainer.finished:
        trainer.train_step()
    return trainer


@pytest.fixture(scope="module")
def lstm_file(finished) -> bytes:
    return zipfile.ZipFile(io.BytesIO(export.model_zip_bytes(finished))).read("lstm.safetensors")


class WritesSentinel:
    """Unpickling this object writes a file: if the file exists, something unpickled the upload."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return builtins.exec, (f"open({self.path!r}, 'w').write('unpickled')",)


def with_metadata(data: bytes, **changes) -> bytes:
    """The same tensors with edited metadata (None removes a key)."""
    state = load(data)
    header_length = int.from_bytes(data[:8], "little")
    metadata = json.loads(data[8:8 + header_length])["__metadata__"]
    for key, value in changes.items():
        if value is None:
            metadata.pop(key, None)
        else:
            metadata[key] = value
    return save(state, metadata=metadata)


def edited_config(data: bytes, **changes) -> bytes:
    header_length = int.from_bytes(data[:8], "little")
    config = json.loads(json.loads(data[8:8 + header_length])["__metadata__"]["model_config"])
    return with_metadata(data, model_config=json.dumps({**config, **changes}))


@pytest.fixture
def no_unpickling(monkeypatch):
    """Any unpickling anywhere during the test fails it, besides leaving the sentinel behind."""
    def refuse(*args, **kwargs):
        raise AssertionError("the upload was unpickled")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    monkeypatch.setattr(torch, "load", refuse)


@pytest.mark.parametrize("name", ["model.safetensors", "model.pkl", "model.pt"])
def test_a_pickle_is_refused_without_being_unpickled(tmp_path, name, no_unpickling):
    sentinel = tmp_path / "sentinel"
    payload = pickle.dumps({"weight": WritesSentinel(sentinel)})
    with pytest.raises(ModelFileError, match="is a Python pickle .* never opens them"):
        read_uploaded_model(payload, name)
    assert not sentinel.exists()


def test_a_pytorch_checkpoint_is_refused_without_being_unpickled(tmp_path, no_unpickling):
    sentinel = tmp_path / "sentinel"
    buffer = io.BytesIO()
    torch.save({"weight": torch.zeros(2), "evil": WritesSentinel(sentinel)}, buffer)
    with pytest.raises(ModelFileError, match="PyTorch checkpoint .* a zip holding a pickle"):
        read_uploaded_model(buffer.getvalue(), "model.safetensors")
    assert not sentinel.exists()


def test_a_safetensors_header_that_starts_like_a_pickle_is_still_read(lstm_file):
    # A header 640 bytes long begins 0x80 0x02: the bytes of a protocol-2 pickle. It must not be refused as one.
    state, metadata = load(lstm_file), _metadata(lstm_file)
    # Short enough to pad up to 640 bytes: the settings left at their defaults go, and the JSON is written compactly.
    config = {key: value for key, value in json.loads(metadata["model_config"]).items()
              if key in ("arch", "input_size", "output_size", "hidden_size", "num_layers")}
    metadata = {"format": metadata["format"], "model_config": json.dumps(config, separators=(",", ":"))}
    # The header length is a little-endian u64: 640 (0x0280); the next such length, 640 + 65536, is over the 64 kB
    # that a model file's header may have.
    base = int.from_bytes(save(state, metadata={**metadata, "pad": ""})[:8], "little")
    assert base <= 640
    target = 640
    for padding in range(max(0, target - base - 64), target - base + 64):
        data = save(state, metadata={**metadata, "pad": "x" * padding})
        if data[:2] == b"\x80\x02":
            break
    assert data[:2] == b"\x80\x02"
    assert read_uploaded_model(data, "m.safetensors").model.config.arch == "lstm"


def test_the_sentinel_would_have_fired_if_unpickled(tmp_path):
    sentinel = tmp_path / "sentinel"
    pickle.loads(pickle.dumps(WritesSentinel(sentinel)))
    assert sentinel.read_text() == "unpickled"


REFUSALS = [
    ("oversized", lambda good: b"\0" * (export.MAX_MODEL_FILE_BYTES + 1), "x.safetensors", "the limit is 64 MB"),
    ("empty", lambda good: b"", "x.safetensors", "is empty"),
    ("wrong extension", lambda good: good, "model.bin", "only .safetensors model files"),
    ("zip", lambda good: _zip(good), "model.zip", "is a zip archive.* unzip it"),
    ("text", lambda good: b"hello, this is not a model", "x.safetensors", "header is damaged"),
    ("header length past the end", lambda good: (10**6).to_bytes(8, "little") + good[8:100], "x.safetensors",
     "header is damaged"),
    ("header not JSON", lambda good: good[:8] + b"{" * (len(good) - 8), "x.safetensors", "header is damaged"),
    ("truncated tensors", lambda good: good[:-40], "x.safetensors", "is damaged"),
    ("foreign safetensors", lambda good: save({"w": torch.zeros(3)}), "x.safetensors", "not one this app exported"),
    ("unknown architecture", lambda good: edited_config(good, arch="mamba"), "x.safetensors",
     "unknown architecture 'mamba'; this app knows rnn, gru, lstm, transformer"),
    ("outside limits", lambda good: edited_config(good, hidden_size=5000), "x.safetensors",
     "outside this app's limits: hidden size"),
    ("shape mismatch", lambda good: edited_config(good, hidden_size=7), "x.safetensors",
     "do not match .* weight_hh_l0 is \\[24, 6\\], expected \\[28, 7\\]"),
    ("missing tensor", lambda good: _without(good, "readout.bias"), "x.safetensors", "missing readout.bias"),
    ("not finite", lambda good: _nan(good), "x.safetensors", "NaN or infinite"),
    ("run config disagrees", lambda good: with_metadata(
        good, run_config=json.dumps({**CONFIG.to_dict(), "hidden_size": 9})), "x.safetensors", "disagree"),
]


def _zip(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("lstm.safetensors", data)
    return buffer.getvalue()


def _metadata(data: bytes) -> dict:
    return json.loads(data[8:8 + int.from_bytes(data[:8], "little")])["__metadata__"]


def _without(data: bytes, key: str) -> bytes:
    state = load(data)
    del state[key]
    return save(state, metadata=_metadata(data))


def _nan(data: bytes) -> bytes:
    state = load(data)
    state["weight_hh_l0"][0, 0] = float("nan")
    return save(state, metadata=_metadata(data))


@pytest.mark.parametrize("case, make, name, message", REFUSALS, ids=[case[0] for case in REFUSALS])
def test_refusals_say_why(lstm_file, case, make, name, message, no_unpickling):
    with pytest.raises(ModelFileError, match=message):
        read_uploaded_model(make(lstm_file), name)


def test_a_good_upload_round_trips_into_a_run_with_the_original_examples(finished, lstm_file):
    upload = read_uploaded_model(lstm_file, "lstm.safetensors")
    assert upload.config_from_file and upload.steps_trained == 15
    assert upload.run_config == RunConfig.from_dict({**CONFIG.to_dict(), "archs": ("lstm",)})
    original = finished.runs["lstm"]
    with torch.no_grad():
        assert torch.equal(upload.model.eval()(finished.test_inputs), original.model.eval()(finished.test_inputs))
    trainer = trainer_from_upload(upload)
    assert list(trainer.runs) == ["lstm"] and trainer.finished and trainer.step == 15
    run = trainer.runs["lstm"]
    assert run.status == "imported" and run.status_detail == "weights imported from lstm.safetensors, trained 15 steps"
    # Solved by the imported step exactly when the original run had solved by its end.
    assert run.solved_step == (15 if original.eval_metric[-1] <= finished.solved_threshold else None)
    assert [c.step for c in run.checkpoints] == [15]
    # The same test set and examples as the original run (the run config's seed), measured the same way.
    assert torch.equal(trainer.trace_inputs, finished.trace_inputs)
    assert run.eval_metric == [original.eval_metric[-1]]
    assert (run.checkpoints[0].gradient_flow.grad_norm_per_step
            == original.checkpoints[-1].gradient_flow.grad_norm_per_step).all()
    assert "LSTM" in trainer.verdict()


def test_a_file_without_its_run_config_is_shown_on_the_task_its_shape_fits(lstm_file):
    bare = with_metadata(lstm_file, run_config=None, steps_trained=None)
    upload = read_uploaded_model(bare, "old.safetensors")
    assert not upload.config_from_file and upload.steps_trained == 0
    assert upload.run_config.task == "adding" and upload.run_config.length == 100
    trainer = trainer_from_upload(upload)
    assert trainer.runs["lstm"].eval_metric[0] > 0


def test_a_model_file_from_the_command_line_uploads_too(finished, tmp_path):
    folder = export.save_run(finished, tmp_path / "run")
    upload = read_uploaded_model((folder / "rnn.safetensors").read_bytes(), "rnn.safetensors")
    assert upload.config_from_file and upload.steps_trained == 15 and upload.run_config.seed == 4
    with torch.no_grad():
        assert torch.equal(upload.model.eval()(finished.test_inputs), finished.runs["rnn"].model.eval()(finished.test_inputs))


@pytest.mark.parametrize("positions", ["sinusoidal", "learned"])
def test_an_exported_transformer_uploads_into_the_same_model(positions):
    config = RunConfig(task="adding", length=20, archs=("lstm", "transformer"), hidden_size=8, heads=4,
                       positions=positions, batch_size=8, max_steps=4, eval_size=16, probe_size=6, trace_examples=2)
    trained = Trainer(config)
    while not trained.finished:
        trained.train_step()
    data = zipfile.ZipFile(io.BytesIO(export.model_zip_bytes(trained))).read("transformer.safetensors")
    upload = read_uploaded_model(data, "transformer.safetensors")
    assert (upload.run_config.heads, upload.run_config.positions) == (4, positions)
    original = trained.runs["transformer"].model.eval()
    with torch.no_grad():
        assert torch.equal(upload.model.eval()(trained.test_inputs), original(trained.test_inputs))
    run = trainer_from_upload(upload).runs["transformer"]
    assert run.eval_metric == [trained.runs["transformer"].eval_metric[-1]]
    if positions == "learned":  # its position table is sized by the run's length, which a bare file lacks
        with pytest.raises(ModelFileError, match="needs the run config it was exported with"):
            read_uploaded_model(with_metadata(data, run_config=None), "bare.safetensors")
