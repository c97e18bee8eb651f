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
import math
import zipfile
from dataclasses import dataclass, fields

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors

from lstm_viz.rules import checks
from lstm_viz.core.architectures import ARCHITECTURES
from lstm_viz.rules.errors import ConfigError, ModelFileError
from lstm_viz.io.export import FORMAT, MAX_MODEL_FILE_BYTES, model_from_state
from lstm_viz.core.model import ModelConfig, SequenceModel
from lstm_viz.core.tasks import TASKS
from lstm_viz.core.trainer import MAX_STEP_GFLOP, RunConfig, Trainer

MAX_HEADER_BYTES = 64 * 2**10  # our headers are under 4 kB (3 layers: 14 tensors); safetensors itself allows 100 MB
# Our header: one entry per tensor (a 3-layer model has 14), each {"dtype", "shape", "data_offsets"}; metadata holds
# two small JSON texts. Anything deeper or longer is refused before it is parsed (json recursion, memory).
MAX_HEADER_DEPTH = 4
MAX_HEADER_ENTRIES = 64
MAX_CONFIG_CHARS = 16 * 1024
MAX_STEPS_TRAINED = 10**9
REEXPORT = "Upload the file as this app exported it, or export the model again (Train page, Download section)."
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
    if MAX_HEADER_BYTES < length <= len(data) - 8:
        raise ModelFileError(f"{name}: its header is {length:,} bytes long; this app's model files have headers under "
                             f"{MAX_HEADER_BYTES // 1024} kB (was the file edited?)")
    if length < 2 or length > len(data) - 8:
        raise ModelFileError(corrupted)
    try:
        header = checks.bounded_json("the file's header", data[8:8 + length], max_chars=MAX_HEADER_BYTES,
                                     max_depth=MAX_HEADER_DEPTH)
    except ConfigError as error:
        raise ModelFileError(f"{corrupted}: {error}") from None
    if not isinstance(header, dict) or len(header) > MAX_HEADER_ENTRIES + 1:
        raise ModelFileError(corrupted)
    return header


def _config_values(metadata: dict, key: str, name: str) -> dict:
    """A metadata entry holding a JSON object, parsed only once its length and depth are known to be small."""
    try:
        values = checks.bounded_json(f"its {key}", metadata[key], max_chars=MAX_CONFIG_CHARS, max_depth=3)
    except ConfigError as error:
        raise ModelFileError(f"{name} has a damaged {key.replace('_', ' ')}: {error}. {REEXPORT}") from None
    if not isinstance(values, dict):
        raise ModelFileError(f"{name} has a damaged {key.replace('_', ' ')}: it must be a JSON object of settings, "
                             f"not {type(values).__name__}. Export the model again from the Train page.")
    return values


def _model_config(metadata: dict, name: str) -> ModelConfig:
    if metadata.get("format") != FORMAT or "model_config" not in metadata:
        raise ModelFileError(
            f"{name} is a safetensors file, but not one this app exported (its metadata has no LSTM Explorer model "
            "config). Export a model from the Train page's Download section."
        )
    values = _config_values(metadata, "model_config", name)
    arch = values.get("arch")
    if not isinstance(arch, str) or arch not in ARCHITECTURES:
        raise ModelFileError(f"{name} is for an unknown architecture {arch!r:.60}; this app knows {', '.join(ARCHITECTURES)}")
    unknown = sorted(set(values) - {f.name for f in fields(ModelConfig)})
    if unknown:
        raise ModelFileError(f"{name} has a damaged model config (unknown settings: {', '.join(map(str, unknown))[:120]})")
    try:
        config = ModelConfig(**values)
        config.validate()
    except ConfigError as error:
        raise ModelFileError(f"{name} describes a model outside this app's limits: {error}. {REEXPORT}") from None
    except TypeError as error:  # a required setting is missing
        raise ModelFileError(f"{name} has a damaged model config ({error})") from None
    return config


def _check_shapes(config: ModelConfig, header: dict, name: str) -> None:
    """The header's tensors against the shapes the config implies, computed without building the model."""
    expected = {key.removeprefix("recurrent."): shape for key, shape in config.parameter_shapes().items()}
    found = {}
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        shape = entry.get("shape") if isinstance(entry, dict) else None
        if not isinstance(shape, list) or not all(isinstance(n, int) and not isinstance(n, bool) for n in shape):
            raise ModelFileError(f"{name}: the entry for {key[:60]!r} has no readable shape (the file is damaged)")
        if isinstance(entry, dict) and entry.get("dtype") != "F32":
            raise ModelFileError(f"{name}: {key[:60]} is {str(entry.get('dtype'))[:20]}, expected float32 (F32)")
        found[key] = tuple(shape)
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    wrong = [f"{key} is {list(found[key])}, expected {list(expected[key])}"
             for key in expected if key in found and found[key] != expected[key]]
    problems = []
    if missing:
        problems.append("missing " + ", ".join(missing[:4]) + (" ..." if len(missing) > 4 else ""))
    if extra:
        problems.append("unexpected " + ", ".join(k[:60] for k in extra[:4]) + (" ..." if len(extra) > 4 else ""))
    problems.extend(w[:200] for w in wrong[:4])
    if problems:
        described = (f"a {config.num_layers}-layer {ARCHITECTURES[config.arch].label} with {config.hidden_size} units, "
                     f"{config.input_size} inputs and {config.output_size} outputs")
        raise ModelFileError(f"{name}: the weights do not match the model its config describes ({described}): "
                             + "; ".join(problems))


def _run_config(metadata: dict, config: ModelConfig, name: str) -> tuple[RunConfig, bool]:
    if "run_config" in metadata:
        values = _config_values(metadata, "run_config", name)
        try:
            # Imports always run under the app's compute limits: the file's own max_step_gflop is not trusted.
            run_config = RunConfig.from_dict({**values, "archs": (config.arch,), "max_step_gflop": MAX_STEP_GFLOP})
            run_config.validate()
        except ConfigError as error:
            raise ModelFileError(f"{name} has a run config this app cannot use: {error}. {REEXPORT}") from None
        except (KeyError, TypeError, ValueError) as error:
            raise ModelFileError(f"{name} has a damaged run config ({str(error)[:120]})") from None
        implied = run_config.model_config(config.arch)
        if implied != config:
            differ = [f"{f.name} {getattr(config, f.name)!r} in the model config, {getattr(implied, f.name)!r} in the "
                      "run config" for f in fields(ModelConfig) if getattr(config, f.name) != getattr(implied, f.name)]
            raise ModelFileError(f"{name}: its run config and its model config disagree (the file was edited?): "
                                 + "; ".join(differ[:3]))
        return run_config, True
    # A file without its run's config: the first task whose inputs and outputs fit, at its default length.
    for task in TASKS.values():
        if (task.input_size, task.output_size, task.readout, task.embedding_size) == (
                config.input_size, config.output_size, config.readout, config.embedding_size):
            run_config = RunConfig(task=task.name, length=task.default_length, archs=(config.arch,),
                                   hidden_size=config.hidden_size, num_layers=config.num_layers,
                                   dropout=config.dropout, forget_bias=config.forget_bias, max_step_gflop=None,
                                   heads=config.heads, positions=config.positions)
            if config.arch == "transformer" and run_config.model_config(config.arch) != config:
                # A Transformer's learned position table is sized by its run's length, which such a file lacks.
                raise ModelFileError(f"{name}: a Transformer with learned positions needs the run config it was "
                                     f"exported with (its length sizes the position table). {REEXPORT}")
            return run_config, False
    raise ModelFileError(f"{name}: no task of this app takes {config.input_size} inputs and gives "
                         f"{config.output_size} outputs ({config.readout} readout)")


def _steps_trained(metadata: dict) -> int:
    text = metadata.get("steps_trained", "0")
    if not isinstance(text, str) or len(text) > 12 or not text.strip().isdigit():
        return 0  # informative only: a damaged count is shown as 0, never a reason to refuse the weights
    return min(int(text), MAX_STEPS_TRAINED)


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
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ModelFileError(f"{name} has damaged metadata (safetensors metadata maps names to text)")
    # Every config and every shape is checked before a tensor is read or a model built: a file that lies about its
    # sizes is refused at the cost of parsing a small header.
    config = _model_config(metadata, name)
    _check_shapes(config, header, name)
    run_config, from_file = _run_config(metadata, config, name)
    try:
        state = load_safetensors(data)
    except (SafetensorError, ValueError, RuntimeError) as error:
        raise ModelFileError(f"{name} is damaged: {str(error)[:200]}") from None
    for key, tensor in state.items():
        if tensor.dtype != torch.float32:
            raise ModelFileError(f"{name}: {key} is {tensor.dtype}, expected float32")
        if not torch.isfinite(tensor).all():
            raise ModelFileError(f"{name}: {key} holds NaN or infinite values (a diverged model cannot be explored)")
    model = model_from_state(config, state)
    return UploadedModel(model=model, run_config=run_config, steps_trained=_steps_trained(metadata), file_name=name,
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
    # The Trainer's own measurement code, so an imported model is measured exactly as a
    # trained one: the same test set, metric and gradient probe.
    trainer.evaluate(run)
    trainer.checkpoint(run)
    # evaluate marks it solved at this step if its metric is under the threshold: solved by then, as the verdict says.
    run.status = IMPORTED_STATUS
    run.status_detail = f"weights imported from {upload.file_name}, trained {upload.steps_trained} steps"
    trainer.stop_reason = run.status_detail
    if not math.isfinite(run.eval_metric[-1]):
        raise ModelFileError(f"{upload.file_name}: the model's test {trainer.task.metric_name} is not finite")
    return trainer
