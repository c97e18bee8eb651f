"""Every variant of a trained model measured on its task's test set: one row per variant, as report.json holds them.

bytes: the size of the variant's file on disk. metric: the task's own metric (Task.metric, lower is better) on the
test set the trainer evaluates on. max_abs_diff: the largest |output - float32 output| over that test set, against
the trained model itself. Latency: lstm_viz.compression.latency (its METHOD says how it is measured).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor

from lstm_viz.compression import latency as timing_tools
from lstm_viz.compression.deployable import check_compressible
from lstm_viz.compression.pruning import FineTune
from lstm_viz.compression.variants import FLOAT32, Built, build_variants, variant_count
from lstm_viz.core.model import SequenceModel
from lstm_viz.core.run_config import RunConfig
from lstm_viz.core.tasks import Task
from lstm_viz.core.trainer import TEST_SEED_OFFSET

EVAL_CHUNK = 256  # the trainer evaluates its test set in chunks of this size too


@dataclass
class VariantRow:
    variant: str
    architecture: str
    file: str
    bytes: int
    size_ratio: float  # bytes / the float32 file's bytes
    metric: float
    metric_name: str
    metric_change: float | None  # (metric - float32's) / float32's; None when float32's metric is 0
    max_abs_diff: float
    latency_ms_p50: float
    latency_ms_p95: float
    streaming_ms_per_step_p50: float | None = None
    streaming_ms_per_step_p95: float | None = None
    zero_fraction: float | None = None  # pruned variants: the share of weight entries that are 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def trainer_test_set(config: RunConfig) -> tuple[Tensor, Tensor]:
    """The test set the Trainer evaluates `config`'s run on: the task's own generator, the run's test seed."""
    generator = torch.Generator().manual_seed(config.seed + TEST_SEED_OFFSET)
    return config.make_task().generate(config.eval_size, config.length, generator, split="test")


def fine_tune_for(config: RunConfig, steps: int) -> FineTune:
    """A pruned model's fine-tune for `config`'s run: its batch size, length and seed, a tenth of its learning rate
    (at the full rate the first steps undo much of what the trained weights know), its clipping (1.0 without)."""
    return FineTune(steps=steps, batch_size=config.batch_size, learning_rate=config.learning_rate / 10,
                    length=config.length, seed=config.seed, clip_grad_norm=config.clip_grad_norm or 1.0)


@torch.no_grad()
def outputs_of(run: Callable[[Tensor], Tensor], inputs: Tensor) -> Tensor:
    return torch.cat([run(chunk).float() for chunk in inputs.split(EVAL_CHUNK)])


def _relative_change(metric: float, reference: float) -> float | None:
    if reference == 0:
        return 0.0 if metric == 0 else None
    return (metric - reference) / abs(reference)


def _measure(built: Built, task: Task, test_inputs: Tensor, test_targets: Tensor, reference: Tensor,
             timing: timing_tools.Timing) -> dict:
    outputs = outputs_of(built.run, test_inputs)
    example = test_inputs[:1]
    whole = timing_tools.sequence_latency(built.run, example, timing)
    streamed = timing_tools.streaming_latency(built.step, example, timing) if built.step is not None else None
    return {
        "variant": built.variant, "file": built.path.name, "bytes": built.path.stat().st_size,
        "metric": task.metric(outputs, test_targets), "metric_name": task.metric_name,
        "max_abs_diff": float((outputs - reference).abs().max()),
        "latency_ms_p50": whole.p50_ms, "latency_ms_p95": whole.p95_ms,
        "streaming_ms_per_step_p50": streamed.p50_ms if streamed else None,
        "streaming_ms_per_step_p95": streamed.p95_ms if streamed else None,
        "zero_fraction": built.zero_fraction, "notes": built.notes,
    }


def compress_model(model: SequenceModel, task: Task, test_inputs: Tensor, test_targets: Tensor, folder: Path, *,
                   fine_tune: FineTune | None = None, timing: timing_tools.Timing = timing_tools.Timing(),
                   progress: Callable[[int, int, str], None] | None = None,
                   should_stop: Callable[[], bool] = lambda: False) -> list[VariantRow]:
    """Make, write and measure every variant of `model` (files into `folder`); rows in the order they were made.
    `progress(done, total, what)` after each variant. Stops early (fewer rows) when `should_stop()` says so."""
    check_compressible(model)
    model.eval()
    reference = outputs_of(model, test_inputs)
    total = variant_count(fine_tune)
    measured: list[dict] = []
    for built in build_variants(model, task, test_inputs[:1], Path(folder), fine_tune, should_stop):
        if should_stop():
            break
        measured.append(_measure(built, task, test_inputs, test_targets, reference, timing))
        if progress is not None:
            progress(len(measured), total, built.variant)
    if not measured:
        return []
    baseline = next(row for row in measured if row["variant"] == FLOAT32)
    return [VariantRow(architecture=model.config.arch, size_ratio=row["bytes"] / baseline["bytes"],
                       metric_change=_relative_change(row["metric"], baseline["metric"]), **row) for row in measured]


def rows_json(rows: list[VariantRow]) -> list[dict]:
    """The rows as report.json holds them: NaN and infinities (a diverged variant) become null."""
    def clean(value):
        return None if isinstance(value, float) and not math.isfinite(value) else value
    return [{key: clean(value) for key, value in row.to_dict().items()} for row in rows]
