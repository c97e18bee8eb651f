"""Files a run leaves behind: metrics.json, one .safetensors per architecture, config.json, trace.npz; and the same
artefacts as bytes for the page's download buttons (model zip, traces CSV/NPZ, metrics CSV, charts as HTML).

Weights are stored with safetensors only (no pickle), under nn.RNN/nn.GRU/nn.LSTM's own parameter
names (weight_ih_l0, ...), plus readout.weight and readout.bias for the linear readout (and, for a word task,
embedding.weight: one learned row per vocabulary word), so a plain
PyTorch user can load them into a fresh fused module without this package.
"""
from __future__ import annotations

import io
import json
import math
import zipfile
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from lstm_viz.rules import checks
from lstm_viz.rules.errors import ConfigError, ModelFileError
from lstm_viz.core.model import ModelConfig, SequenceModel, build_model
from lstm_viz.core.traces import trace
from lstm_viz.core.trainer import Checkpoint, RunConfig, Trainer

FORMAT = "lstm-explorer/1"
RECURRENT_PREFIX = "recurrent."
# The Transformer keeps its prefix: its blocks have no PyTorch module of their own to load into.
KEPT_PREFIXES = ("readout.", "embedding.", "transformer.")
MAX_MODEL_FILE_BYTES = 64 * 1024 * 1024  # a 3-layer H=512 LSTM is ~25 MB; anything bigger is not ours
TRACE_CSV_COLUMNS = ("arch", "checkpoint_step", "example", "layer", "name", "t", "unit", "value")
# Downloads are built in the server's memory: caps keep one click from taking gigabytes. The bundled run (T=100,
# H=64, three cells) needs 0.3 M CSV rows (13 MB) and 18.5 MB of NPZ arrays, far below both.
MAX_TRACE_CSV_ROWS = 2_000_000  # about 80 MB of CSV
MAX_TRACE_NPZ_BYTES = 256 * 2**20  # float32 gates and states before compression


def portable_state_dict(model: SequenceModel) -> dict[str, torch.Tensor]:
    return {
        name.removeprefix(RECURRENT_PREFIX): tensor.detach().contiguous().clone()
        for name, tensor in model.state_dict().items()
    }


def model_from_state(config: ModelConfig, state: dict[str, torch.Tensor]) -> SequenceModel:
    model = SequenceModel(config)
    # The file names the recurrent weights as PyTorch's fused module does (weight_ih_l0, ...); the readout and a word
    # task's embedding keep their own prefixes (readout.weight, embedding.weight). A Transformer's weights keep
    # their module names (transformer.layers.0.self_attn.in_proj_weight, ...): no fused module to name them after.
    if model.architecture.recurrent:
        state = {(name if name.startswith(KEPT_PREFIXES) else RECURRENT_PREFIX + name): tensor
                 for name, tensor in state.items()}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise ModelFileError(f"the weights do not match the model described in config.json: {error}") from None
    return model


def model_bytes(model: SequenceModel, run_config: RunConfig | None = None, steps_trained: int | None = None) -> bytes:
    """The model as a .safetensors file. Its metadata holds the model config and, when given, the run's config
    (task, length, seed: what an upload needs to show the same examples again) and how many steps it trained."""
    metadata = {"format": FORMAT, "model_config": json.dumps(model.config.to_dict())}
    if run_config is not None:
        metadata["run_config"] = json.dumps(run_config.to_dict())
    if steps_trained is not None:
        metadata["steps_trained"] = str(int(steps_trained))
    return save(portable_state_dict(model), metadata=metadata)


def save_model(model: SequenceModel, path: Path, run_config: RunConfig | None = None,
               steps_trained: int | None = None) -> None:
    Path(path).write_bytes(model_bytes(model, run_config, steps_trained))


def load_model(path: Path | str, config: ModelConfig | None = None) -> SequenceModel:
    """Load a model this app saved. The config comes from the file's own metadata unless given."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"no model file at {path}")
    if path.stat().st_size > MAX_MODEL_FILE_BYTES:
        raise ModelFileError(f"{path.name} is larger than {MAX_MODEL_FILE_BYTES // 2**20} MB; this app's models are far smaller")
    try:
        with open(path, "rb") as handle:
            header_length = int.from_bytes(handle.read(8), "little")
            if not 2 <= header_length <= min(2**20, path.stat().st_size - 8):
                raise ValueError("its header length is outside the file")
            header = checks.bounded_json(f"{path.name}'s header", handle.read(header_length), max_chars=2**20,
                                         max_depth=4)
        metadata = header.get("__metadata__", {}) if isinstance(header, dict) else {}
        if config is None:
            values = checks.bounded_json("its model config", metadata["model_config"], max_chars=16 * 1024, max_depth=3)
            if not isinstance(values, dict):
                raise TypeError("the model config is not a JSON object")
            config = ModelConfig(**values)
        config.validate()  # before any tensor is read: sizes from a file are not trusted
        state = load_file(str(path))
    except ConfigError as error:
        raise ModelFileError(f"{path.name} has no valid LSTM Explorer model config ({error})") from None
    except (KeyError, TypeError, AttributeError) as error:
        raise ModelFileError(f"{path.name} has no valid LSTM Explorer model config ({error})") from None
    except (SafetensorError, ValueError, OSError) as error:
        raise ModelFileError(f"{path.name} is not a safetensors file ({error})") from None
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
    """A new model of `model`'s config holding the checkpoint's weights. Built afresh rather than copied: the live
    model may be changing in a training thread, and its weights are overwritten anyway."""
    restored = build_model(model.config, seed=0)
    restored.load_state_dict(checkpoint.state_dict)
    return restored.eval()


def trace_values_per_example(trainer: Trainer, arch: str) -> int:
    """How many gate/state values one example adds at one checkpoint of `arch`: steps x units x arrays per layer, and
    for the Transformer each layer's heads x steps x steps attention weights."""
    config = trainer.config
    steps = trainer.task.sequence_length(config.length)
    model_config = trainer.runs[arch].model.config
    names = len(trainer.runs[arch].model.architecture.trace_names)
    attention = 0 if trainer.runs[arch].model.architecture.recurrent else model_config.heads * steps * steps
    return (steps * config.hidden_size * names + attention) * config.num_layers


def attention_values_per_example(trainer: Trainer, arch: str) -> int:
    """How many attention weights one example adds to the NPZ at one checkpoint: heads x T x T per layer for a
    Transformer, none for a recurrent cell."""
    model_config = trainer.runs[arch].model.config
    if trainer.runs[arch].model.architecture.recurrent:
        return 0
    steps = trainer.task.sequence_length(trainer.config.length)
    return model_config.heads * steps * steps * model_config.num_layers


def npz_checkpoints(trainer: Trainer, max_bytes: int | None = None) -> dict[str, list[Checkpoint]]:
    """The checkpoints trace_arrays covers: all of them, or, when their gates and states would take more than
    `max_bytes` as float32, an even selection that fits (always the first and the latest)."""
    chosen = {arch: list(run.checkpoints) for arch, run in trainer.runs.items()}
    if max_bytes is None:
        return chosen
    examples = trainer.config.trace_examples
    per_checkpoint = 4 * examples * sum(trace_values_per_example(trainer, arch) + attention_values_per_example(
        trainer, arch) for arch in trainer.runs)
    keep = max(1, max_bytes // per_checkpoint)
    for arch, checkpoints in chosen.items():
        if len(checkpoints) > keep:
            if keep == 1:
                chosen[arch] = checkpoints[-1:]
            else:
                indices = np.unique(np.linspace(0, len(checkpoints) - 1, keep).round().astype(int))
                chosen[arch] = [checkpoints[i] for i in indices]
    return chosen


def trace_arrays(trainer: Trainer, max_bytes: int | None = None) -> dict[str, np.ndarray]:
    """Every recorded gate and state of the fixed examples at every checkpoint (or at an even selection of them that
    fits in `max_bytes`, see npz_checkpoints); names in README.md."""
    inputs = trainer.trace_inputs
    arrays: dict[str, np.ndarray] = {"inputs": inputs.numpy(), "targets": trainer.trace_targets.numpy()}
    for arch, checkpoints in npz_checkpoints(trainer, max_bytes).items():
        run = trainer.runs[arch]
        traces = [trace(checkpoint_model(run.model, c), inputs) for c in checkpoints]
        arrays[f"{arch}/checkpoint_steps"] = np.array([c.step for c in checkpoints], dtype=np.int64)
        arrays[f"{arch}/outputs"] = np.stack([t.outputs for t in traces])
        for layer, names in enumerate(traces[0].layers):
            for name in names:
                arrays[f"{arch}/layer{layer}/{name}"] = np.stack([t.layers[layer][name] for t in traces])
            if traces[0].attention is not None:
                arrays[f"{arch}/layer{layer}/attention"] = np.stack([t.attention[layer] for t in traces])
        flows = [c.gradient_flow for c in checkpoints]
        arrays[f"{arch}/grad_norm_per_step"] = np.stack([f.grad_norm_per_step for f in flows])
        arrays[f"{arch}/input_grad_norm_per_step"] = np.stack([f.input_grad_norm_per_step for f in flows])
        if flows[0].forget_gate_mean_per_step is not None:
            arrays[f"{arch}/forget_gate_mean_per_step"] = np.stack([f.forget_gate_mean_per_step for f in flows])
            arrays[f"{arch}/forget_product_per_step"] = np.stack([f.forget_product_per_step for f in flows])
    return arrays


def config_dict(trainer: Trainer) -> dict:
    """config.json: the run configuration and each architecture's model configuration (PyTorch names in the files)."""
    return {
        "format": FORMAT,
        "run": trainer.config.to_dict(),
        "models": {arch: trainer.config.model_config(arch).to_dict() for arch in trainer.runs},
        "files": {arch: f"{arch}.safetensors" for arch in trainer.runs},
    }


def _steps_trained(trainer: Trainer, arch: str) -> int:
    run = trainer.runs[arch]
    return run.steps[-1] if run.steps else trainer.step


def _final_model(trainer: Trainer, arch: str) -> SequenceModel:
    """The weights of the run's latest checkpoint (a run ends with one), in a private copy: the live model may belong
    to a training thread."""
    run = trainer.runs[arch]
    return checkpoint_model(run.model, run.checkpoints[-1])


def save_run(trainer: Trainer, out_dir: Path | str) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "metrics.json").write_text(json.dumps(metrics_dict(trainer), indent=1))
    (out_dir / "config.json").write_text(json.dumps(config_dict(trainer), indent=1))
    for arch, run in trainer.runs.items():
        save_model(run.model, out_dir / f"{arch}.safetensors", trainer.config, _steps_trained(trainer, arch))
    # Uncompressed: zlib took 0.55 s of the headline CLI run's 16 s and saved 12% (12.4 MB -> 10.9 MB): gate values
    # in float32 hardly compress.
    np.savez(out_dir / "trace.npz", **trace_arrays(trainer))
    return out_dir


# ----- in memory, for the page's download buttons -----

def model_zip_bytes(trainer: Trainer) -> bytes:
    """A zip of <arch>.safetensors per architecture (the latest checkpoint's weights) and config.json."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", json.dumps(config_dict(trainer), indent=1))
        for arch in trainer.runs:
            step = trainer.runs[arch].checkpoints[-1].step
            archive.writestr(f"{arch}.safetensors", model_bytes(_final_model(trainer, arch), trainer.config, step))
    return buffer.getvalue()





def csv_examples(trainer: Trainer, max_rows: int | None = MAX_TRACE_CSV_ROWS) -> int:
    """How many of the shown examples the traces CSV holds: all, or as many as fit in `max_rows` (0: not even one)."""
    examples = trainer.config.trace_examples
    if max_rows is None:
        return examples
    per_example = sum(trace_values_per_example(trainer, arch) for arch in trainer.runs)
    return min(examples, max_rows // per_example)


def traces_frame(trainer: Trainer, step: int | None = None, max_rows: int | None = MAX_TRACE_CSV_ROWS) -> "pd.DataFrame":
    """Every gate and state of the shown examples at one checkpoint per architecture (the latest, or the last one at
    or before `step`), in long format: one row per (arch, checkpoint_step, example, layer, name, t, unit). Only the
    first csv_examples(trainer, max_rows) examples, so a huge model cannot produce a CSV of gigabytes."""
    import pandas as pd  # imported here: the CLI's save_run never needs it, and it costs 0.3 s to import

    examples = csv_examples(trainer, max_rows)
    if examples == 0:
        raise ConfigError(f"one example of this run has more than {max_rows:,} trace values: too many for a CSV; "
                          "download the NPZ instead")
    frames = []
    for arch, run in trainer.runs.items():
        candidates = [c for c in run.checkpoints if step is None or c.step <= step] or run.checkpoints[:1]
        checkpoint = candidates[-1]
        result = trace(checkpoint_model(run.model, checkpoint), trainer.trace_inputs[:examples])
        for layer, names in enumerate(result.layers):
            for name, array in names.items():
                examples, steps, units = array.shape
                example, t, unit = np.meshgrid(np.arange(examples), np.arange(steps), np.arange(units), indexing="ij")
                frames.append(pd.DataFrame({
                    "arch": arch, "checkpoint_step": checkpoint.step, "example": example.ravel(), "layer": layer,
                    "name": name, "t": t.ravel(), "unit": unit.ravel(), "value": array.ravel(),
                }))
    return pd.concat(frames, ignore_index=True)[list(TRACE_CSV_COLUMNS)]


def traces_csv_bytes(trainer: Trainer, step: int | None = None, max_rows: int | None = MAX_TRACE_CSV_ROWS) -> bytes:
    return traces_frame(trainer, step, max_rows).to_csv(index=False).encode()


def traces_npz_bytes(trainer: Trainer, max_bytes: int | None = MAX_TRACE_NPZ_BYTES) -> bytes:
    """trace_arrays (every checkpoint, or an even selection within `max_bytes`; names in README.md) as a compressed
    .npz, loadable with allow_pickle=False."""
    # np.savez_compressed's zlib level 6 took 4.9 s for the bundled run's 18.5 MB here; level 1 takes half that and
    # the file is 1% larger. The layout is np.savez's: one <name>.npy per array in a zip.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, array in trace_arrays(trainer, max_bytes).items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)
    return buffer.getvalue()


def metrics_frame(trainer: Trainer) -> "pd.DataFrame":
    """One row per architecture and step: training loss and gradient norm (before clipping) where it trained,
    the test metric where it was evaluated (step 0 is the untrained model's evaluation)."""
    import pandas as pd

    metric_column = f"test_{trainer.task.metric_name.lower().replace('-', '_').replace(' ', '_')}"
    frames = []
    for arch, run in trainer.runs.items():
        train = pd.DataFrame({"step": run.steps, "train_loss": run.train_loss, "grad_norm": run.grad_norm})
        test = pd.DataFrame({"step": run.eval_steps, metric_column: run.eval_metric})
        merged = pd.merge(train, test, on="step", how="outer").sort_values("step")
        merged.insert(0, "arch", arch)
        frames.append(merged)
    return pd.concat(frames, ignore_index=True)


def metrics_csv_bytes(trainer: Trainer) -> bytes:
    return metrics_frame(trainer).to_csv(index=False).encode()


def figure_html(figure) -> str:
    """A self-contained interactive page: plotly.js inline, nothing fetched from the internet when it is opened."""
    return figure.to_html(include_plotlyjs=True, full_html=True, config={"displaylogo": False})


def figures_zip_bytes(figures: dict[str, object]) -> bytes:
    """{file stem: figure} -> a zip of <stem>.html, one self-contained page per chart."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for stem, figure in figures.items():
            archive.writestr(f"{stem}.html", figure_html(figure))
    return buffer.getvalue()
