"""A model file a user uploads, checked before anything is built from it, and turned into a run to explore.

Only .safetensors files this app exported are accepted. The bytes are inspected first: a pickle (what torch.save
and .pt/.pth/.pkl files hold) can run arbitrary code when it is loaded, so it is recognised by its magic bytes and
refused without ever being unpickled; so is a zip (a PyTorch checkpoint holds its pickle in data.pkl). The
safetensors header is parsed as JSON by hand before the safetensors library reads the tensors, the model config
must name a known architecture within the app's limits, and every tensor must have exactly the name and shape
that config implies. Each refusal raises ModelFileError with a message for the page.
"""
from __future__ import annotations

import io
import json
import math
import zipfile
from dataclasses import dataclass

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors

from .architectures import ARCHITECTURES
from .errors import ConfigError, ModelFileError
from .export import FORMAT, MAX_MODEL_FILE_BYTES, model_from_state
from .model import ModelConfig, SequenceModel
from .tasks import TASKS
from .trainer import RunConfig, Trainer

MAX_HEADER_BYTES = 1 * 2**20  # our headers are a few kB; safetensors itself allows 100 MB
IMPORTED_STATUS = "imported"


@dataclass
class UploadedModel:
    model: SequenceModel
    run_config: RunConfig
    steps_trained: int
    file_name: str
    # True when the file carried its run's config (task, length, seed); False: guessed from the model's shape.
    config_from_file: bool


def _looks_like_safetensors(data: bytes) -> bool:
    """An 8-byte little-endian header length that fits the file, then a JSON object."""
    return len(data) > 9 and 2 <= int.from_bytes(data[:8], "little") <= len(data) - 8 and data[8:9] == b"{"


def _refuse_foreign_formats(data: bytes, name: str) -> None:
    # Checked first: a safetensors header 640 bytes long starts with 0x80 0x02, which is also how pickles start.
    if _looks_like_safetensors(data):
        return
    if data[:1] == b"\x80" and len(data) > 1 and 1 <= data[1] <= 5:
        raise ModelFileError(
            f"{name} is a Python pickle (a .pkl file, or an old torch.save file). Pickles can run any code when loaded, so this app "
            "never opens them. Upload a .safetensors file exported by this app instead."
        )
    if data[:4] == b"PK\x03\x04":
        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()  # reads the zip's directory only, never a member
        except zipfile.BadZipFile:
            names = []
        if any(member.endswith(".pkl") for member in names):
            raise ModelFileError(
                f"{name} is a PyTorch checkpoint (.pt/.pth: a zip holding a pickle). Pickles can run any code when "
                "loaded, so this app never opens them. Upload a .safetensors file exported by this app instead."
            )
        raise ModelFileError(
            f"{name} is a zip archive. If it is this app's model download, unzip it and upload one of the "
            ".safetensors files inside (one per architecture)."
        )


def _header(data: bytes, name: str) -> dict:
    corrupted = f"{name} is not a readable safetensors file (its header is damaged or it is another format)"
    if len(data) < 8:
        raise ModelFileError(corrupted)
    length = int.from_bytes(data[:8], "little")
    if length < 2 or length > min(MAX_HEADER_BYTES, len(data) - 8):
        raise ModelFileError(corrupted)
    try:
        header = json.loads(data[8:8 + length].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ModelFileError(corrupted) from None
    if not isinstance(header, dict):
        raise ModelFileError(corrupted)
    return header


def _model_config(metadata: dict, name: str) -> ModelConfig:
    if metadata.get("format") != FORMAT or "model_config" not in metadata:
        raise ModelFileError(
            f"{name} is a safetensors file, but not one this app exported (its metadata has no LSTM Explorer model "
            "config). Export a model from the Train page's Download section."
        )
    try:
        values = json.loads(metadata["model_config"])
        if not isinstance(values, dict):
            raise TypeError("not an object")
        arch = values.get("arch")
        if arch not in ARCHITECTURES:
            raise ModelFileError(
                f"{name} is for an unknown architecture {arch!r}; this app knows {', '.join(ARCHITECTURES)}"
            )
        config = ModelConfig(**values)
        config.validate()
    except ModelFileError:
        raise
    except ConfigError as error:
        raise ModelFileError(f"{name} describes a model outside this app's limits: {error}") from None
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"{name} has a damaged model config ({error})") from None
    return config


def _check_shapes(config: ModelConfig, header: dict, name: str) -> None:
    expected = {
        key.removeprefix("recurrent."): tuple(tensor.shape)
        for key, tensor in SequenceModel(config).state_dict().items()
    }
    found = {key: tuple(entry.get("shape", ())) for key, entry in header.items()
             if key != "__metadata__" and isinstance(entry, dict)}
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    wrong = [f"{key} is {list(found[key])}, expected {list(expected[key])}"
             for key in expected if key in found and found[key] != expected[key]]
    problems = []
    if missing:
        problems.append("missing " + ", ".join(missing[:4]) + (" ..." if len(missing) > 4 else ""))
    if extra:
        problems.append("unexpected " + ", ".join(extra[:4]) + (" ..." if len(extra) > 4 else ""))
    problems.extend(wrong[:4])
    if problems:
        described = (f"a {config.num_layers}-layer {ARCHITECTURES[config.arch].label} with {config.hidden_size} units, "
                     f"{config.input_size} inputs and {config.output_size} outputs")
        raise ModelFileError(f"{name}: the weights do not match the model its config describes ({described}): "
                             + "; ".join(problems))


def _run_config(metadata: dict, config: ModelConfig, name: str) -> tuple[RunConfig, bool]:
    if "run_config" in metadata:
        try:
            run_config = RunConfig.from_dict(json.loads(metadata["run_config"]))
            run_config = RunConfig.from_dict({**run_config.to_dict(), "archs": (config.arch,)})
            run_config.validate()
        except (ConfigError, KeyError, TypeError, ValueError) as error:
            raise ModelFileError(f"{name} has a run config this app cannot use: {error}") from None
        if run_config.model_config(config.arch) != config:
            raise ModelFileError(f"{name}: its run config and its model config disagree (the file was edited?)")
        return run_config, True
    # A file without its run's config: the first task whose inputs and outputs fit, at its default length.
    for task in TASKS.values():
        if (task.input_size, task.output_size, task.readout, task.embedding_size) == (
                config.input_size, config.output_size, config.readout, config.embedding_size):
            run_config = RunConfig(task=task.name, length=task.default_length, archs=(config.arch,),
                                   hidden_size=config.hidden_size, num_layers=config.num_layers,
                                   dropout=config.dropout, forget_bias=config.forget_bias, max_step_gflop=None)
            return run_config, False
    raise ModelFileError(f"{name}: no task of this app takes {config.input_size} inputs and gives "
                         f"{config.output_size} outputs ({config.readout} readout)")


def read_uploaded_model(data: bytes, name: str) -> UploadedModel:
    """Check an uploaded file and build its model, or raise ModelFileError saying why it is refused."""
    if len(data) > MAX_MODEL_FILE_BYTES:
        raise ModelFileError(f"{name} is {len(data) / 2**20:.1f} MB; the limit is {MAX_MODEL_FILE_BYTES // 2**20} MB "
                             "(this app's largest model, 3 layers of 512 LSTM units, is about 21 MB)")
    if not data:
        raise ModelFileError(f"{name} is empty")
    _refuse_foreign_formats(data, name)
    if not name.lower().endswith(".safetensors"):
        raise ModelFileError(f"{name}: only .safetensors model files exported by this app can be uploaded")
    header = _header(data, name)
    metadata = header.get("__metadata__") or {}
    if not isinstance(metadata, dict):
        raise ModelFileError(f"{name} has damaged metadata")
    config = _model_config(metadata, name)
    _check_shapes(config, header, name)
    try:
        state = load_safetensors(data)
    except (SafetensorError, ValueError, RuntimeError) as error:
        raise ModelFileError(f"{name} is damaged: {error}") from None
    for key, tensor in state.items():
        if tensor.dtype != torch.float32:
            raise ModelFileError(f"{name}: {key} is {tensor.dtype}, expected float32")
        if not torch.isfinite(tensor).all():
            raise ModelFileError(f"{name}: {key} holds NaN or infinite values (a diverged model cannot be explored)")
    model = model_from_state(config, state)
    run_config, from_file = _run_config(metadata, config, name)
    try:
        steps_trained = int(metadata.get("steps_trained", 0))
    except ValueError:
        steps_trained = 0
    steps_trained = min(max(steps_trained, 0), 10**9)
    return UploadedModel(model=model, run_config=run_config, steps_trained=steps_trained, file_name=name,
                         config_from_file=from_file)


def trainer_from_upload(upload: UploadedModel) -> Trainer:
    """A finished one-architecture run holding the uploaded weights as its single checkpoint: every explorer page can
    show it. The test and probe sets come from the run config's seed, so the shown examples are the original run's."""
    config = upload.run_config
    trainer = Trainer(config, measure_initial_state=False)
    run = trainer.runs[upload.model.config.arch]
    run.model.load_state_dict(upload.model.state_dict())
    trainer.step = upload.steps_trained
    run.status = IMPORTED_STATUS  # not "training": the run is finished; nothing trains here
    # The Trainer's own measurement code (private, same package), so an imported model is measured exactly as a
    # trained one: the same test set, metric and gradient probe.
    trainer._evaluate(run)
    trainer._checkpoint(run)
    # _evaluate marks it solved at this step if its metric is under the threshold: solved by then, as the verdict says.
    run.status = IMPORTED_STATUS
    run.status_detail = f"weights imported from {upload.file_name}, trained {upload.steps_trained} steps"
    trainer.stop_reason = run.status_detail
    if not math.isfinite(run.eval_metric[-1]):
        raise ModelFileError(f"{upload.file_name}: the model's test {trainer.task.metric_name} is not finite")
    return trainer
