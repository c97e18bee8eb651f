"""Files a run leaves behind: metrics.json, one .safetensors per architecture, config.json, trace.npz.

Weights are stored with safetensors only (no pickle), under nn.RNN/nn.GRU/nn.LSTM's own parameter
names (weight_ih_l0, ...), plus readout.weight and readout.bias for the linear readout, so a plain
PyTorch user can load them into a fresh fused module without this package.
"""
from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .errors import ConfigError, ModelFileError
from .model import ModelConfig, SequenceModel
from .traces import trace
from .trainer import Checkpoint, Trainer

FORMAT = "lstm-explorer/1"
RECURRENT_PREFIX = "recurrent."
MAX_MODEL_FILE_BYTES = 64 * 1024 * 1024  # a 3-layer H=512 LSTM is ~25 MB; anything bigger is not ours


def portable_state_dict(model: SequenceModel) -> dict[str, torch.Tensor]:
    return {
        name.removeprefix(RECURRENT_PREFIX): tensor.detach().contiguous().clone()
        for name, tensor in model.state_dict().items()
    }


def model_from_state(config: ModelConfig, state: dict[str, torch.Tensor]) -> SequenceModel:
    model = SequenceModel(config)
    state = {(name if name.startswith("readout.") else RECURRENT_PREFIX + name): tensor for name, tensor in state.items()}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise ModelFileError(f"the weights do not match the model described in config.json: {error}") from None
    return model


def save_model(model: SequenceModel, path: Path) -> None:
    metadata = {"format": FORMAT, "model_config": json.dumps(model.config.to_dict())}
    save_file(portable_state_dict(model), str(path), metadata=metadata)


def load_model(path: Path | str, config: ModelConfig | None = None) -> SequenceModel:
    """Load a model this app saved. The config comes from the file's own metadata unless given."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"no model file at {path}")
    if path.stat().st_size > MAX_MODEL_FILE_BYTES:
        raise ModelFileError(f"{path.name} is larger than {MAX_MODEL_FILE_BYTES // 2**20} MB; this app's models are far smaller")
    try:
        state = load_file(str(path))
        with open(path, "rb") as handle:
            header_length = int.from_bytes(handle.read(8), "little")
            metadata = json.loads(handle.read(header_length)).get("__metadata__", {})
    except (SafetensorError, ValueError, OSError) as error:
        raise ModelFileError(f"{path.name} is not a safetensors file ({error})") from None
    if config is None:
        try:
            config = ModelConfig(**json.loads(metadata["model_config"]))
            config.validate()
        except (KeyError, TypeError, json.JSONDecodeError, ConfigError) as error:
            raise ModelFileError(f"{path.name} has no valid LSTM Explorer model config ({error})") from None
    return model_from_state(config, state)


def _finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def metrics_dict(trainer: Trainer) -> dict:
    summary = trainer.summary()
    archs = {}
    for arch, run in trainer.runs.items():
        archs[arch] = {
            **{key: (_finite_or_none(v) if isinstance(v, float) else v) for key, v in summary[arch].items()},
            "train": {
                "step": run.steps,
                "loss": [_finite_or_none(v) for v in run.train_loss],
                "grad_norm": [_finite_or_none(v) for v in run.grad_norm],
            },
            "test": {
                "step": run.eval_steps,
                "metric": [_finite_or_none(v) for v in run.eval_metric],
                "elapsed_seconds": run.eval_elapsed,
            },
            "checkpoint_steps": [c.step for c in run.checkpoints],
        }
    return {
        "format": FORMAT,
        "task": trainer.config.task,
        "length": trainer.config.length,
        "metric_name": trainer.task.metric_name,
        "baseline": trainer.baseline,
        "solved_threshold": trainer.solved_threshold,
        "steps": trainer.step,
        "elapsed_seconds": trainer.elapsed,
        "steps_per_second": trainer.steps_per_second,
        "verdict": trainer.verdict(),
        "archs": archs,
    }


def checkpoint_model(model: SequenceModel, checkpoint: Checkpoint) -> SequenceModel:
    restored = copy.deepcopy(model)
    restored.load_state_dict(checkpoint.state_dict)
    return restored


def trace_arrays(trainer: Trainer) -> dict[str, np.ndarray]:
    """Every recorded gate and state of the fixed examples at every checkpoint; names in README.md."""
    inputs = trainer.trace_inputs
    arrays: dict[str, np.ndarray] = {"inputs": inputs.numpy(), "targets": trainer.trace_targets.numpy()}
    for arch, run in trainer.runs.items():
        traces = [trace(checkpoint_model(run.model, c), inputs) for c in run.checkpoints]
        arrays[f"{arch}/checkpoint_steps"] = np.array([c.step for c in run.checkpoints], dtype=np.int64)
        arrays[f"{arch}/outputs"] = np.stack([t.outputs for t in traces])
        for layer, names in enumerate(traces[0].layers):
            for name in names:
                arrays[f"{arch}/layer{layer}/{name}"] = np.stack([t.layers[layer][name] for t in traces])
        flows = [c.gradient_flow for c in run.checkpoints]
        arrays[f"{arch}/grad_norm_per_step"] = np.stack([f.grad_norm_per_step for f in flows])
        arrays[f"{arch}/input_grad_norm_per_step"] = np.stack([f.input_grad_norm_per_step for f in flows])
        if flows[0].forget_gate_mean_per_step is not None:
            arrays[f"{arch}/forget_gate_mean_per_step"] = np.stack([f.forget_gate_mean_per_step for f in flows])
            arrays[f"{arch}/forget_product_per_step"] = np.stack([f.forget_product_per_step for f in flows])
    return arrays


def save_run(trainer: Trainer, out_dir: Path | str) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "metrics.json").write_text(json.dumps(metrics_dict(trainer), indent=1))
    config = {
        "format": FORMAT,
        "run": trainer.config.to_dict(),
        "models": {arch: trainer.config.model_config(arch).to_dict() for arch in trainer.runs},
        "files": {arch: f"{arch}.safetensors" for arch in trainer.runs},
    }
    (out_dir / "config.json").write_text(json.dumps(config, indent=1))
    for arch, run in trainer.runs.items():
        save_model(run.model, out_dir / f"{arch}.safetensors")
    np.savez_compressed(out_dir / "trace.npz", **trace_arrays(trainer))
    return out_dir
