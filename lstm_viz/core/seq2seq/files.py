"""A trained encoder-decoder on disk: its weights as safetensors (never pickle) beside a JSON file with its training
config; the vocabularies are rebuilt from the task, and a file whose sizes do not match them is refused."""
from __future__ import annotations

import json
from pathlib import Path

from safetensors.torch import load_file, save_file

from lstm_viz.core.seq2seq.model import Seq2Seq
from lstm_viz.core.seq2seq.training import TranslationTrainingConfig, build_model
from lstm_viz.core.tasks import get_translation_task
from lstm_viz.rules import checks
from lstm_viz.rules.errors import ModelFileError
from lstm_viz.rules.paths import ASSETS_DIR

SHIPPED_DIR = ASSETS_DIR / "runs" / "translation"
MAX_CONFIG_CHARS = 10_000


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
    if not config_path.exists() or not weights_path.exists():
        raise ModelFileError(f"no trained {stem} model in {directory} (run scripts/train_translation_models.py)")
    stored = checks.bounded_json(config_path.name, config_path.read_text(encoding="utf-8"), max_chars=MAX_CONFIG_CHARS)
    try:
        config = TranslationTrainingConfig(**stored["training"]).validate()
    except (KeyError, TypeError) as error:
        raise ModelFileError(f"{config_path.name} is not a translation model's config ({error})") from None
    model = build_model(config, get_translation_task(task))
    state = load_file(str(weights_path))
    expected = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    found = {name: tuple(t.shape) for name, t in state.items()}
    if found != expected:
        raise ModelFileError(f"{weights_path.name} does not match its config and the {task} vocabularies")
    model.load_state_dict(state)
    return model.eval(), config
