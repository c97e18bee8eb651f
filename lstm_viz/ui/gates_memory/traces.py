"""The view one run of the "Gates and memory" page shows (architecture, checkpoint, layer, example) and the
server-wide memos of the traces and figures it draws.

A checkpoint's trace never changes once the checkpoint exists, so traces and figures are keyed by (architecture,
checkpoint step, example, settings) under the explored run's identity (lstm_viz.ui.memo): a classroom exploring the
shipped run builds each heatmap once, not once per student."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from lstm_viz.analysis import memory
from lstm_viz.core.trainer import ArchRun, Checkpoint, Trainer
from lstm_viz.figures import memory as memory_figures
from lstm_viz.ui import session_run
from lstm_viz.ui.memo import explorer_memo
from lstm_viz.ui.gates_memory.settings import example_key
from lstm_viz.ui.session_run import ExploredRun


def run_caption(explored: ExploredRun) -> str:
    trainer = explored.trainer
    if explored.source == "bundled":
        return (f"Showing the bundled run ({trainer.task.label}, T = {trainer.config.length}, hidden size "
                f"{trainer.config.hidden_size}). Train a run on the Train page to explore your own.")
    return (f"Showing this session's run ({trainer.task.label}, T = {trainer.config.length}), "
            + ("still training, at step " if session_run.is_running() else "trained for ") + f"{trainer.step:,} steps.")


@dataclass(frozen=True)
class MemoryView:
    """What one run of the page shows: the run, the architecture and its checkpoint, the layer, the example."""
    explored: ExploredRun
    arch: str
    checkpoint: Checkpoint
    layer: int
    example: memory.Example
    arrays: dict[str, np.ndarray]  # {trace name: (T, H)} of the example at the checkpoint and layer

    @property
    def trainer(self) -> Trainer:
        return self.explored.trainer

    @property
    def run(self) -> ArchRun:
        return self.trainer.runs[self.arch]

    @property
    def channels(self) -> dict[str, np.ndarray]:
        return self.trainer.task.input_channels(self.example.inputs)

    @property
    def layer_note(self) -> str:
        return f", layer {self.layer + 1}" if self.trainer.config.num_layers > 1 else ""

    def heatmaps(self, arch: str, checkpoint: Checkpoint, arrays: dict, height_per_panel: int | None) -> go.Figure:
        """The ordered heatmaps of `arch` at `checkpoint` on this view's example (another cell's, for comparison)."""
        order = st.session_state["gm_order"]
        example = self.example

        def build() -> go.Figure:
            return memory_figures.ordered_heatmaps(
                arrays, memory.unit_order(order, arrays), self.channels, tokens=example.tokens,
                unknown=example.unknown, title=f"{self.trainer.runs[arch].label} at step {checkpoint.step}{self.layer_note}",
                order_label=memory.ORDERINGS[order], height_per_panel=height_per_panel,
            )

        key = ("heatmaps", arch, checkpoint.step, example_key(example), self.layer, order, height_per_panel)
        return memo_figure(self.explored, key, build)


def memo_figure(explored: ExploredRun, key: tuple, build: Callable[[], object]) -> object:
    """A figure that only depends on `key` (checkpoint step, example, settings): built once per server, redrawn
    from memory when another control of the page changes. The heatmaps take ~0.4 s each to build."""
    return explorer_memo(explored, ("memory figure", *key), build)


def example_arrays(explored: ExploredRun, arch: str, checkpoint: Checkpoint, example: memory.Example,
                   layer: int) -> dict[str, np.ndarray]:
    """{trace name: (T, H)} of one example at one checkpoint and layer."""
    def build() -> list[dict[str, np.ndarray]]:
        traced = memory.trace_at(explored.model(arch), checkpoint, example.inputs[None])
        return [{name: values[0] for name, values in arrays.items()} for arrays in traced.layers]

    return explorer_memo(explored, ("memory example", arch, checkpoint.step, example_key(example)), build)[layer]


def example_attention(explored: ExploredRun, arch: str, checkpoint: Checkpoint,
                      example: memory.Example) -> list[np.ndarray]:
    """A Transformer's attention on one example at one checkpoint: per layer (heads, T, T), row t summing to 1."""
    def build() -> list[np.ndarray]:
        traced = memory.trace_at(explored.model(arch), checkpoint, example.inputs[None])
        return [weights[0] for weights in traced.attention]

    return explorer_memo(explored, ("memory attention", arch, checkpoint.step, example_key(example)), build)


def probe_arrays(explored: ExploredRun, arch: str, checkpoint: Checkpoint, layer: int) -> dict[str, np.ndarray]:
    """{trace name: (B, T, H)} of the run's probe batch at one checkpoint and layer."""
    def build() -> list[dict[str, np.ndarray]]:
        return memory.trace_at(explored.model(arch), checkpoint, explored.trainer.probe_inputs).layers

    return explorer_memo(explored, ("memory probe", arch, checkpoint.step), build)[layer]


def saturation(explored: ExploredRun, arch: str, layer: int) -> memory.SaturationHistory:
    checkpoints = list(explored.trainer.runs[arch].checkpoints)
    key = ("memory saturation", arch, layer, len(checkpoints), checkpoints[-1].step)
    return explorer_memo(explored, key, lambda: memory.saturation_over_training(
        explored.model(arch), checkpoints, explored.trainer.probe_inputs, layer))


def probe_feature(explored: ExploredRun, name: str) -> np.ndarray:
    """(B, T) task feature `name` over the probe batch."""
    return explorer_memo(explored, ("memory feature", name),
                         lambda: memory.feature_matrix(explored.trainer.task, explored.trainer.probe_inputs.numpy(), name))


def feature_scores(view: MemoryView, state_name: str, feature: str) -> np.ndarray:
    """|Pearson r| ranking scores of every unit's `state_name` against `feature` over the probe sequences."""
    probe = probe_arrays(view.explored, view.arch, view.checkpoint, view.layer)
    return memory.feature_correlations(probe[state_name], probe_feature(view.explored, feature))
