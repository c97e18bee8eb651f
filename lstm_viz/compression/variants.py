"""Each variant of one trained model: how it is made, the file it is shipped as, and how it runs (a whole sequence,
and where it can, one step at a time).

float32 / float16 / bfloat16: the weights cast and saved as safetensors under the app's own names (the float16 and
bfloat16 models also compute in that type: PyTorch's CPU RNN kernels take both). int8: onnxruntime's quantisation of
the ONNX graph (maintained) and torch.ao's dynamic quantisation (deprecated, but it runs in PyTorch itself). Pruned:
lstm_viz.compression.pruning, stored sparse, run dense (the zeros save bytes, not time: PyTorch's dense kernels
multiply them too). ONNX: the float32 graph in onnxruntime.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import torch
from safetensors.torch import save
from torch import Tensor

from lstm_viz.compression import onnx_variants, pruning, quantisation
from lstm_viz.compression.deployable import DeployableModel, deployable, sequence_model_state
from lstm_viz.core.model import SequenceModel
from lstm_viz.core.tasks import Task

FILE_FORMAT = "lstm-explorer-compressed/1"
FLOAT32, ONNX_FLOAT32 = "float32", "ONNX float32"
INT8_ONNXRUNTIME, INT8_TORCH = "int8 (onnxruntime)", "int8 (torch dynamic, deprecated)"


@dataclass
class Built:
    """One variant, made and written: `run` maps (B, T, D) inputs to float32 outputs; `step` streams (or None)."""
    variant: str
    path: Path
    run: Callable[[Tensor], Tensor]
    step: Callable | None
    notes: list[str] = field(default_factory=list)
    zero_fraction: float | None = None


class CastModel:
    """A deployable model whose weights and arithmetic are in `dtype`; inputs and outputs stay float32."""

    def __init__(self, model: DeployableModel, dtype: torch.dtype):
        self.model, self.dtype = copy.deepcopy(model).to(dtype), dtype

    def __call__(self, inputs: Tensor) -> Tensor:
        return self.model(inputs.to(self.dtype)).float()

    def step(self, step_input: Tensor, state=None):
        output, state = self.model.step(step_input.to(self.dtype), state)
        return output.float(), state


def _metadata(model: SequenceModel, variant: str) -> dict[str, str]:
    return {"format": FILE_FORMAT, "variant": variant, "model_config": json.dumps(model.config.to_dict())}


def slug(variant: str) -> str:
    """A file-name-safe form of a variant's name: 'int8 (torch dynamic, deprecated)' ->
    'int8-torch-dynamic-deprecated'."""
    kept = "".join(char if char.isalnum() else "-" for char in variant.lower())
    return "-".join(part for part in kept.split("-") if part)


def _cast_variant(model: SequenceModel, plain: DeployableModel, dtype: torch.dtype, variant: str,
                  path: Path) -> Built:
    state = {name: tensor.to(dtype) for name, tensor in sequence_model_state(plain).items()}
    path.write_bytes(save(state, metadata=_metadata(model, variant)))
    runner = CastModel(plain, dtype)
    return Built(variant, path, runner, runner.step)


def _onnx_variants(model: SequenceModel, plain: DeployableModel, example: Tensor, folder: Path,
                   stem: str) -> Iterator[Built]:
    float_path = onnx_variants.export_onnx(plain, example, folder / f"{stem}-{slug(ONNX_FLOAT32)}.onnx")
    runner = onnx_variants.OnnxRunner(float_path)
    yield Built(ONNX_FLOAT32, float_path, runner, runner.step)
    int8_path = onnx_variants.quantise_onnx(float_path, folder / f"{stem}-{slug(INT8_ONNXRUNTIME)}.onnx")
    ops = onnx_variants.quantised_ops(int8_path)
    notes = [f"int8 ops: {', '.join(ops)}"]
    if "DynamicQuantizeLSTM" not in ops:
        notes.append(f"onnxruntime has no int8 {model.architecture.label} op: its recurrent weights stay float32")
    runner = onnx_variants.OnnxRunner(int8_path)
    yield Built(INT8_ONNXRUNTIME, int8_path, runner, runner.step, notes)


def _torch_int8_variant(model: SequenceModel, plain: DeployableModel, path: Path) -> Built:
    quantised = quantisation.torch_int8(plain)
    path.write_bytes(quantisation.int8_file_bytes(quantised, _metadata(model, INT8_TORCH)))
    int8_names = quantisation.quantised_layer_names(quantised)
    notes = [f"int8 weights: {', '.join(int8_names)}"]
    if not any(name.startswith("recurrent.") for name in int8_names):
        notes.append("torch.ao has no int8 kernel for this cell: its recurrent weights stay float32")

    def run(inputs: Tensor) -> Tensor:
        with quantisation.torch_ao_quiet():
            return quantised(inputs)

    def step(step_input: Tensor, state=None):
        with quantisation.torch_ao_quiet():
            return quantised.step(step_input, state)

    return Built(INT8_TORCH, path, run, step, notes)


def _pruned_variant(model: SequenceModel, fraction: float, task: Task, fine_tune: pruning.FineTune | None,
                    folder: Path, stem: str, should_stop) -> Built:
    variant = f"pruned {fraction:.0%}" + (f" + fine-tune {fine_tune.steps} steps" if fine_tune else "")
    pruned = pruning.pruned_model(model, fraction, task, fine_tune, should_stop)
    plain = deployable(pruned)
    path = folder / f"{stem}-{slug(variant)}.safetensors"
    path.write_bytes(pruning.sparse_file_bytes(sequence_model_state(plain), _metadata(model, variant)))
    built = Built(variant, path, plain, plain.step, ["stored sparse, run dense"])
    built.zero_fraction = pruning.zero_fraction(pruned)
    return built


def variant_count(fine_tune: pruning.FineTune | None) -> int:
    """How many variants `build_variants` makes: what progress counts in."""
    return 6 + len(pruning.PRUNE_FRACTIONS) * (2 if fine_tune is not None and fine_tune.steps > 0 else 1)


def build_variants(model: SequenceModel, task: Task, example: Tensor, folder: Path,
                   fine_tune: pruning.FineTune | None = None, should_stop=lambda: False) -> Iterator[Built]:
    """Every variant of `model`, its file written into `folder` (named <arch>-<variant>.<ext>), one at a time."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = model.config.arch
    plain = deployable(model)
    for dtype, variant in ((torch.float32, FLOAT32), (torch.float16, "float16 weights"),
                           (torch.bfloat16, "bfloat16 weights")):
        yield _cast_variant(model, plain, dtype, variant, folder / f"{stem}-{slug(variant)}.safetensors")
    yield from _onnx_variants(model, plain, example, folder, stem)
    yield _torch_int8_variant(model, plain, folder / f"{stem}-{slug(INT8_TORCH)}.safetensors")
    fine_tunes = [None] + ([fine_tune] if fine_tune is not None and fine_tune.steps > 0 else [])
    for fraction in pruning.PRUNE_FRACTIONS:
        for settings in fine_tunes:
            yield _pruned_variant(model, fraction, task, settings, folder, stem, should_stop)
