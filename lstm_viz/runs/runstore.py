"""Save a finished run whole (config, histories, every checkpoint's weights and gradient probe) and restore it as
a Trainer, so the explorer pages, the shared cache and the bundled runs in assets/runs/ all read one format.

Files in a run folder:
- run.json: format, the RunConfig, step, training seconds, stop reason, and per architecture its status and
  per-step / per-evaluation histories;
- checkpoints.safetensors: every checkpoint's weights, keyed "<arch>/<step>/<parameter>";
- gradient_flow.npz: every checkpoint's GradientFlow arrays, keyed "<arch>/<step>/<field>" (no pickle).

Only this app's own files are read here; user uploads go through lstm_viz.io.export.load_model.
"""
from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
from safetensors.torch import load_file, save_file

from lstm_viz.rules import checks
from lstm_viz.rules.errors import ConfigError, ModelFileError
from lstm_viz.core.gradient_flow import GradientFlow
from lstm_viz.core.trainer import Checkpoint, RunConfig, Trainer

FORMAT = "lstm-explorer-run/1"
# A run.json holds a run's histories: the shipped ones are 50-300 kB and nest 5 deep.
MAX_RUN_JSON_BYTES = 32 * 2**20
MAX_RUN_JSON_DEPTH = 6
HISTORY_FIELDS = ("steps", "train_loss", "grad_norm", "eval_steps", "eval_metric", "eval_elapsed")
FLOW_FIELDS = tuple(field.name for field in dataclasses.fields(GradientFlow))


def _json_number(value: float | None) -> float | str | None:
    # JSON has no NaN or infinity; a diverged run has them in its history.
    if value is None or math.isfinite(value):
        return value
    return str(value)


def _from_json_number(value: float | str | None) -> float | None:
    return float(value) if isinstance(value, str) else value


def save_run_state(trainer: Trainer, folder: Path | str) -> Path:
    """Write the run to `folder` (created); a Trainer read back by load_run_state draws the same pages."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    weights = {}
    flows: dict[str, np.ndarray] = {}
    runs = {}
    for arch, run in trainer.runs.items():
        for checkpoint in run.checkpoints:
            for name, tensor in checkpoint.state_dict.items():
                weights[f"{arch}/{checkpoint.step}/{name}"] = tensor.contiguous()
            for name in FLOW_FIELDS:
                value = getattr(checkpoint.gradient_flow, name)
                if value is not None:
                    flows[f"{arch}/{checkpoint.step}/{name}"] = np.asarray(value)
        runs[arch] = {
            "status": run.status,
            "status_detail": run.status_detail,
            "solved_step": run.solved_step,
            "best_metric": _json_number(run.best_metric),
            "checkpoints": [
                {"step": c.step, "eval_metric": _json_number(c.eval_metric)} for c in run.checkpoints
            ],
            **{name: [_json_number(v) for v in getattr(run, name)] for name in HISTORY_FIELDS},
        }
    document = {
        "format": FORMAT,
        "config": trainer.config.to_dict(),
        "step": trainer.step,
        "elapsed": trainer.elapsed,
        "stop_reason": trainer.stop_reason,
        "runs": runs,
    }
    save_file(weights, str(folder / "checkpoints.safetensors"), metadata={"format": FORMAT})
    np.savez_compressed(folder / "gradient_flow.npz", **flows)
    (folder / "run.json").write_text(json.dumps(document, indent=1))
    return folder


def load_run_state(folder: Path | str) -> Trainer:
    """A Trainer with the saved histories and checkpoints; its live models hold the last checkpoint's weights,
    so it can be explored but continues training only from there (the optimiser state is not saved)."""
    folder = Path(folder)
    path = folder / "run.json"
    try:
        if path.stat().st_size > MAX_RUN_JSON_BYTES:
            raise ConfigError(f"run.json is larger than {MAX_RUN_JSON_BYTES // 2**20} MB")
        document = checks.bounded_json("run.json", path.read_bytes(), max_chars=MAX_RUN_JSON_BYTES,
                                       max_depth=MAX_RUN_JSON_DEPTH)
    except (OSError, ConfigError) as error:
        raise ModelFileError(f"no readable run in {folder}: {error}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        found = document.get("format") if isinstance(document, dict) else None
        raise ModelFileError(f"{folder} holds format {found!r}, expected {FORMAT!r}")
    try:
        # Validated like any other config before the Trainer allocates its test and probe sets.
        config = RunConfig.from_dict(document.get("config")).validate()
    except ConfigError as error:
        raise ModelFileError(f"{folder}: its run config cannot be used: {error}") from None
    trainer = Trainer(config, measure_initial_state=False)
    weights = load_file(str(folder / "checkpoints.safetensors"))
    with np.load(folder / "gradient_flow.npz", allow_pickle=False) as flow_file:
        flows = {name: flow_file[name] for name in flow_file.files}
    trainer.step = document["step"]
    trainer.elapsed = document["elapsed"]
    trainer.stop_reason = document["stop_reason"]
    for arch, saved in document["runs"].items():
        run = trainer.runs[arch]
        run.status, run.status_detail, run.solved_step = saved["status"], saved["status_detail"], saved["solved_step"]
        run.best_metric = _from_json_number(saved["best_metric"])
        for name in HISTORY_FIELDS:
            setattr(run, name, [_from_json_number(v) for v in saved[name]])
        for entry in saved["checkpoints"]:
            prefix = f"{arch}/{entry['step']}/"
            state = {key.removeprefix(prefix): tensor for key, tensor in weights.items() if key.startswith(prefix)}
            flow = GradientFlow(**{name: flows.get(prefix + name) for name in FLOW_FIELDS})
            run.checkpoints.append(
                Checkpoint(step=entry["step"], state_dict=state, gradient_flow=flow,
                           eval_metric=_from_json_number(entry["eval_metric"]))
            )
        if run.checkpoints:
            try:
                run.model.load_state_dict(run.checkpoints[-1].state_dict)
            except RuntimeError as error:  # saved by an older version whose model had another shape
                raise ModelFileError(f"the run in {folder} was saved with a different model; retrain it ({error})") from None
    return trainer
