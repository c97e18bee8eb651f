"""Streamlit glue of the "Gates and memory" page: per-session memos of the traces and histories it draws.

A checkpoint's trace never changes once the checkpoint exists, so traces are keyed by (run, architecture,
checkpoint step, example) and kept in a small per-session cache of their own (the Train page's figure cache
is left alone)."""
from __future__ import annotations

import hashlib
from typing import Callable

import numpy as np
import streamlit as st

from lstm_viz.analysis import memory
from lstm_viz.core.trainer import Checkpoint
from .page_schemas import THRESHOLD_RANGE  # noqa: F401 - the span search's widget reads it here
from .state import ExploredRun

CACHE_KEY = "gm_cache"
CACHE_SIZE = 32


def _memo(key: tuple, build: Callable[[], object]) -> object:
    cache: dict = st.session_state.setdefault(CACHE_KEY, {})
    if key not in cache:
        if len(cache) >= CACHE_SIZE:
            cache.pop(next(iter(cache)))
        cache[key] = build()
    return cache[key]


def memo_figure(explored: ExploredRun, key: tuple, build: Callable[[], object]) -> object:
    """A figure that only depends on `key` (checkpoint step, example, settings): built once, redrawn from memory
    when another control of the page changes. The heatmaps take ~0.4 s each to build."""
    return _memo((explored.run_key, "figure", *key), build)


def example_key(example: memory.Example) -> str:
    """Inputs and tokens: two typed texts whose unknown characters encode alike still differ in what is shown."""
    digest = hashlib.sha1(np.ascontiguousarray(example.inputs).tobytes())
    digest.update("\x00".join(example.tokens or []).encode())
    return digest.hexdigest()[:16]


def example_arrays(explored: ExploredRun, arch: str, checkpoint: Checkpoint, example: memory.Example,
                   layer: int) -> dict[str, np.ndarray]:
    """{trace name: (T, H)} of one example at one checkpoint and layer."""
    def build() -> list[dict[str, np.ndarray]]:
        traced = memory.trace_at(explored.model(arch), checkpoint, example.inputs[None])
        return [{name: values[0] for name, values in arrays.items()} for arrays in traced.layers]

    return _memo((explored.run_key, "example", arch, checkpoint.step, example_key(example)), build)[layer]


def probe_arrays(explored: ExploredRun, arch: str, checkpoint: Checkpoint, layer: int) -> dict[str, np.ndarray]:
    """{trace name: (B, T, H)} of the run's probe batch at one checkpoint and layer."""
    def build() -> list[dict[str, np.ndarray]]:
        return memory.trace_at(explored.model(arch), checkpoint, explored.trainer.probe_inputs).layers

    return _memo((explored.run_key, "probe", arch, checkpoint.step), build)[layer]


def saturation(explored: ExploredRun, arch: str, layer: int) -> memory.SaturationHistory:
    checkpoints = list(explored.trainer.runs[arch].checkpoints)
    key = (explored.run_key, "saturation", arch, layer, len(checkpoints), checkpoints[-1].step)
    return _memo(key, lambda: memory.saturation_over_training(
        explored.model(arch), checkpoints, explored.trainer.probe_inputs, layer))


def probe_feature(explored: ExploredRun, name: str) -> np.ndarray:
    """(B, T) task feature `name` over the probe batch."""
    return _memo((explored.run_key, "feature", name),
                 lambda: memory.feature_matrix(explored.trainer.task, explored.trainer.probe_inputs.numpy(), name))
