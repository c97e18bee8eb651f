"""Magnitude pruning with torch.nn.utils.prune: the smallest |w| of every weight matrix set to 0, optionally followed
by a short fine-tune that keeps them at 0, and a sparse file that stores only what is left.

Each weight matrix (recurrent W_ih and W_hh of every layer, the embedding, the readout) loses the same fraction of
its entries (l1_unstructured per tensor), so every matrix keeps exactly the stated density; biases are kept whole.
During the fine-tune the pruning hooks multiply each weight by its mask before every forward, so the gradient reaches
weight_orig but the pruned entries stay 0; prune.remove then makes the zeros permanent.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.utils.prune as prune
from safetensors.torch import save
from torch import Tensor, nn

from lstm_viz.core.model import SequenceModel
from lstm_viz.core.tasks import Task

PRUNE_FRACTIONS = (0.5, 0.8, 0.9)
# The fine-tune's data comes from its own stream, apart from the run's training batches and its test set.
FINE_TUNE_SEED_OFFSET = 3_000_017


@dataclass(frozen=True)
class FineTune:
    """A short retraining of a pruned model: `steps` Adam steps on fresh batches of the task."""
    steps: int
    batch_size: int
    learning_rate: float
    length: int
    seed: int
    clip_grad_norm: float = 1.0


def prunable_weights(model: SequenceModel) -> list[tuple[nn.Module, str]]:
    """(module, parameter name) of every weight matrix: what pruning thins out."""
    targets = [(model.recurrent, name) for name, _ in model.recurrent.named_parameters() if name.startswith("weight")]
    targets.append((model.readout, "weight"))
    if model.embedding is not None:
        targets.append((model.embedding, "weight"))
    return targets


def pruned_model(model: SequenceModel, fraction: float, task: Task | None = None,
                 fine_tune: FineTune | None = None, should_stop=lambda: False) -> SequenceModel:
    """A copy of `model` with `fraction` of each weight matrix at 0 (the smallest by magnitude), fine-tuned with the
    mask held when `fine_tune` is given (on `task`)."""
    pruned = copy.deepcopy(model)
    targets = prunable_weights(pruned)
    for module, name in targets:
        prune.l1_unstructured(module, name, amount=fraction)
    if fine_tune is not None and fine_tune.steps > 0:
        _fine_tune(pruned, targets, task, fine_tune, should_stop)
    for module, name in targets:
        prune.remove(module, name)
    return pruned.eval()


def _apply_masks(targets: list[tuple[nn.Module, str]]) -> None:
    """weight = weight_orig * mask, for every pruned weight. The pruning hooks do this before a module's forward,
    but SequenceModel.embed multiplies one-hot rows by embedding.weight without calling the embedding's forward:
    without this its masked weight would be the one computed once at pruning time (and its graph freed after the
    first backward)."""
    for module, name in targets:
        setattr(module, name, getattr(module, f"{name}_orig") * getattr(module, f"{name}_mask"))


def _fine_tune(model: SequenceModel, pruned_weights: list[tuple[nn.Module, str]], task: Task, settings: FineTune,
               should_stop) -> None:
    generator = torch.Generator().manual_seed(settings.seed + FINE_TUNE_SEED_OFFSET)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    model.train()
    for _ in range(settings.steps):
        if should_stop():
            break
        inputs, targets = task.generate(settings.batch_size, settings.length, generator, split="train")
        optimizer.zero_grad(set_to_none=True)
        _apply_masks(pruned_weights)
        loss = task.loss(model(inputs), targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), settings.clip_grad_norm)
        optimizer.step()
    _apply_masks(pruned_weights)
    model.eval()


def zero_fraction(model: SequenceModel) -> float:
    """The share of weight-matrix entries that are exactly 0 (biases not counted)."""
    weights = [getattr(module, name).detach() for module, name in prunable_weights(model)]
    total = sum(weight.numel() for weight in weights)
    return sum(int((weight == 0).sum()) for weight in weights) / total


def sparse_file_bytes(state: dict[str, Tensor], metadata: dict[str, str]) -> bytes:
    """safetensors: each weight matrix as <name>.values (its nonzero entries, float32, in row-major order) and
    <name>.mask (one bit per entry, numpy.packbits order) with <name>.shape; biases dense. 4 bytes per kept weight
    plus 1/8 byte per entry: 90% pruned is 0.53 bytes per weight instead of 4."""
    tensors: dict[str, Tensor] = {}
    for name, tensor in state.items():
        tensor = tensor.detach().float().contiguous()
        if tensor.dim() < 2:
            tensors[name] = tensor
            continue
        flat = tensor.reshape(-1)
        kept = flat != 0
        tensors[f"{name}.values"] = flat[kept].contiguous()
        tensors[f"{name}.mask"] = torch.from_numpy(np.packbits(kept.numpy()))
        tensors[f"{name}.shape"] = torch.tensor(tensor.shape, dtype=torch.int64)
    return save(tensors, metadata={**metadata, "weights": "sparse: values of the nonzero entries and a bit mask"})


def dense_from_sparse(tensors: dict[str, Tensor]) -> dict[str, Tensor]:
    """The inverse of sparse_file_bytes (for tests and for anyone reading the file back)."""
    dense = {name: tensor for name, tensor in tensors.items() if not name.endswith((".values", ".mask", ".shape"))}
    for name in [name.removesuffix(".values") for name in tensors if name.endswith(".values")]:
        shape = tuple(int(size) for size in tensors[f"{name}.shape"])
        count = int(np.prod(shape))
        kept = torch.from_numpy(np.unpackbits(tensors[f"{name}.mask"].numpy())[:count].astype(bool))
        flat = torch.zeros(count)
        flat[kept] = tensors[f"{name}.values"]
        dense[name] = flat.reshape(shape)
    return dense
