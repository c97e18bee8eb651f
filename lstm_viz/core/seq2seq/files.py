"""A trained encoder-decoder on disk: its weights as safetensors (never pickle) beside a JSON file with its training
config; the vocabularies are rebuilt from the task, and a file whose sizes do not match them is refused.

Reading is bounded before anything is allocated: the config file's size is checked before it is read, the config's
sizes against lstm_viz.rules.ranges before the model is built, and the safetensors header (its length, then its
JSON) is parsed here and every tensor's dtype, shape and byte range compared with the model's before the
safetensors library reads a byte of weights."""
from __future__ import annotations

import json
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from lstm_viz.core.seq2seq.model import Seq2Seq
from lstm_viz.core.seq2seq.training import TranslationTrainingConfig, build_model
from lstm_viz.core.tasks import get_translation_task
from lstm_viz.rules import checks
from lstm_viz.rules.errors import ConfigError, ModelFileError
from lstm_viz.rules.paths import ASSETS_DIR

SHIPPED_DIR = ASSETS_DIR / "runs" / "translation"
MAX_CONFIG_CHARS = 10_000
# The shipped headers are under 2 kB (9 tensors with attention); a longer one was not written by save_translation_model.
MAX_HEADER_BYTES = 16 * 1024
FLOAT32_BYTES = 4


def model_stem(task: str, attention: bool) -> str:
    """The file name (no suffix) of a task's model with or without attention: "dates-attention", "eng-fra-plain"."""
    return f"{task}-{'attention' if attention else 'plain'}"


def save_translation_model(model: Seq2Seq, config: TranslationTrainingConfig, out_dir: Path) -> Path:
    """Writes <stem>.safetensors and <stem>.json in out_dir; returns the weights' path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = model_stem(config.task, config.attention)
    weights = out_dir / f"{stem}.safetensors"
    save_file({name: tensor.detach().contiguous() for name, tensor in model.state_dict().items()}, str(weights))
    (out_dir / f"{stem}.json").write_text(json.dumps({"training": config.to_dict(), "model": model.config.to_dict()},
                                                     indent=2) + "\n", encoding="utf-8")
    return weights


def load_translation_model(directory: Path, task: str, attention: bool) -> tuple[Seq2Seq, TranslationTrainingConfig]:
    """The model a directory holds for `task` with or without attention, in eval mode; ModelFileError says why not."""
    stem = model_stem(task, attention)
    config_path, weights_path = directory / f"{stem}.json", directory / f"{stem}.safetensors"
    if not config_path.is_file() or not weights_path.is_file():
        raise ModelFileError(f"no trained {stem} model in {directory} (run scripts/train_translation_models.py)")
    config = _read_config(config_path, task, attention)
    model = build_model(config, get_translation_task(task))
    expected = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    _check_header(weights_path, expected, task)
    try:
        state = load_file(str(weights_path))
    except (SafetensorError, OSError) as error:
        raise ModelFileError(f"{weights_path.name} cannot be read ({str(error)[:120]})") from None
    model.load_state_dict(state)
    return model.eval(), config


def _read_config(path: Path, task: str, attention: bool) -> TranslationTrainingConfig:
    """The training config of a model file, checked for size before it is read and for every range after."""
    size = path.stat().st_size
    if size > MAX_CONFIG_CHARS:
        raise ModelFileError(f"{path.name} is {size:,} bytes long; a translation model's config is under "
                             f"{MAX_CONFIG_CHARS:,} (was the file replaced?)")
    try:
        stored = checks.bounded_json(path.name, path.read_bytes(), max_chars=MAX_CONFIG_CHARS, max_depth=3)
    except ConfigError as error:  # its message names the file
        raise ModelFileError(str(error)) from None
    try:
        config = TranslationTrainingConfig(**stored["training"]).validate()
    except ConfigError as error:
        raise ModelFileError(f"{path.name}: {error}") from None
    except (KeyError, TypeError) as error:
        raise ModelFileError(f"{path.name} is not a translation model's config ({str(error)[:120]})") from None
    if (config.task, config.attention) != (task, attention):
        raise ModelFileError(f"{path.name} holds the config of a {model_stem(config.task, config.attention)} model, "
                             f"not of {model_stem(task, attention)}")
    return config


def _check_header(path: Path, expected: dict[str, tuple[int, ...]], task: str) -> None:
    """The safetensors header of `path` read by hand: float32 tensors of exactly the expected names and shapes,
    laid end to end, and a file exactly as long as they are."""
    damaged = f"{path.name} is not a readable safetensors file (damaged, or another format)"
    size = path.stat().st_size
    with path.open("rb") as file:
        prefix = file.read(8)
        length = int.from_bytes(prefix, "little") if len(prefix) == 8 else -1
        if not 2 <= length <= min(MAX_HEADER_BYTES, size - 8):
            raise ModelFileError(damaged)
        raw = file.read(length)
    try:
        header = checks.bounded_json(path.name, raw, max_chars=MAX_HEADER_BYTES, max_depth=4)
    except ConfigError:
        raise ModelFileError(damaged) from None
    if not isinstance(header, dict):
        raise ModelFileError(damaged)
    header.pop("__metadata__", None)
    shapes = {name: tuple(entry["shape"]) if isinstance(entry, dict) and isinstance(entry.get("shape"), list) else None
              for name, entry in header.items()}
    if shapes != expected:
        raise ModelFileError(f"{path.name} does not match its config and the {task} vocabularies")
    end = 0
    for name, entry in sorted(header.items(), key=_first_offset):
        count = 1
        for n in expected[name]:
            count *= n
        if entry.get("dtype") != "F32" or entry.get("data_offsets") != [end, end + FLOAT32_BYTES * count]:
            raise ModelFileError(f"{path.name}: {name} is not {count:,} float32 numbers where the header says")
        end += FLOAT32_BYTES * count
    if size != 8 + length + end:
        raise ModelFileError(f"{path.name} is {size:,} bytes long; its header describes {8 + length + end:,} "
                             "(truncated or padded)")


def _first_offset(item: tuple[str, dict]) -> int:
    """Where a header entry says its tensor starts (-1 if it does not say: the entry is then refused)."""
    offsets = item[1].get("data_offsets")
    if isinstance(offsets, list) and offsets and isinstance(offsets[0], int):
        return offsets[0]
    return -1
