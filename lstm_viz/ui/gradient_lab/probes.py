"""Streamlit glue of the Gradient flow lab's measured tabs (over training, why it vanishes): cached engine calls
(lstm_viz.analysis.jacobians), figures, tables and explanations. The what-if tabs are in what_if.py,
the tabs themselves in tabs.py.

Caches key on small descriptors (the run's config as JSON, a digest of the checkpoint's weights, the knob value),
never on tensors; the trainer and weights ride along as underscore arguments that Streamlit does not hash. Every
model here is built privately from the config and loaded with checkpoint weights, so the training thread's model
and the shared bundled one are never touched.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from lstm_viz.analysis import jacobians
from lstm_viz.analysis.checkpoints import checkpoint_at
from lstm_viz.core.gradient_flow import measure_gradient_flow
from lstm_viz.core.model import SequenceModel, build_model
from lstm_viz.core.trainer import Checkpoint, Trainer
from lstm_viz.figures import gradient as gfig

def number_columns(rows: list[dict], keep: tuple[str, ...] = ()) -> dict:
    """st.dataframe column settings: every float column with 3 significant digits (ratios span 1e-60 to 1e4)."""
    floats = {name for row in rows for name, value in row.items() if isinstance(value, float)}
    return {name: st.column_config.NumberColumn(format="%.3g") for name in floats if name not in keep}


def weights_digest(state_dict: dict[str, torch.Tensor]) -> str:
    digest = hashlib.sha1()
    for name in sorted(state_dict):
        digest.update(name.encode())
        digest.update(state_dict[name].detach().cpu().numpy().tobytes())
    return digest.hexdigest()


def model_with(trainer: Trainer, arch: str, state_dict: dict[str, torch.Tensor]) -> SequenceModel:
    model = build_model(trainer.config.model_config(arch), seed=trainer.config.seed)
    model.load_state_dict(state_dict)
    return model


# ----------------------------------------------------------------------------------------------------
# probes over training
def probe_steps(trainer: Trainer) -> list[int]:
    """Every training step at which some architecture recorded a probe, ascending."""
    return sorted({c.step for run in trainer.runs.values() for c in run.checkpoints})


def probe_step_at(trainer: Trainer, step: int | None) -> int:
    """The probe step a setting of `step` shows: the latest probe at or before it, by the rule every explorer page
    uses for a step (lstm_viz.analysis.checkpoints); the latest for "-1"."""
    every = sorted((c for run in trainer.runs.values() for c in run.checkpoints), key=lambda c: c.step)
    return checkpoint_at(every, step).step


def arch_checkpoint(trainer: Trainer, arch: str, step: int) -> Checkpoint:
    """The architecture's checkpoint for the probe step shown (an architecture that stopped early keeps its last)."""
    return checkpoint_at(trainer.runs[arch].checkpoints, step)


def flow_figure(trainer: Trainer, step: int, layer: int, relative: bool) -> go.Figure:
    curves = []
    for arch, run in trainer.runs.items():
        checkpoint = arch_checkpoint(trainer, arch, step)
        curves.append(gfig.FlowCurve(
            arch, run.label, checkpoint.gradient_flow.grad_norm_per_step[layer], checkpoint.step,
            run.checkpoints[0].gradient_flow.grad_norm_per_step[layer],
        ))
    layer_note = f", layer {layer + 1}" if trainer.config.num_layers > 1 else ""
    return gfig.gradient_vs_distance(
        curves, relative=relative,
        title=f"Gradient reaching d steps back: at initialisation (dashed) and at step {step}{layer_note}",
    )


def every_probe(trainer: Trainer, layer: int) -> dict[str, tuple[str, list[int], np.ndarray]]:
    """{arch: (label, probe steps, (probes, T) gradient norms)}: every probe of the run, for the heatmap and the
    animation."""
    return {
        arch: (run.label, [c.step for c in run.checkpoints],
               np.stack([c.gradient_flow.grad_norm_per_step[layer] for c in run.checkpoints]))
        for arch, run in trainer.runs.items()
    }


def heatmap_figure(trainer: Trainer, step: int, layer: int) -> go.Figure:
    return gfig.gradient_heatmaps(every_probe(trainer, layer), marked_step=step)


def animation_figure(trainer: Trainer, layer: int, relative: bool) -> go.Figure:
    return gfig.gradient_animation(every_probe(trainer, layer), relative=relative)


def reach_table(trainer: Trainer, step: int, layer: int, distance: int) -> list[dict]:
    """Per architecture: the gradient ratio `distance` steps back at init and at the probe shown, and the metric."""
    rows = []
    for arch, run in trainer.runs.items():
        checkpoint = arch_checkpoint(trainer, arch, step)
        rows.append({
            "cell": run.label,
            "probe step": checkpoint.step,
            f"ratio {distance} steps back at init": jacobians.ratio_at_distance(
                run.checkpoints[0].gradient_flow.grad_norm_per_step[layer], distance),
            f"ratio {distance} steps back at the probe": jacobians.ratio_at_distance(
                checkpoint.gradient_flow.grad_norm_per_step[layer], distance),
            f"test {trainer.task.metric_name} at the probe": checkpoint.eval_metric,
        })
    return rows


# ----------------------------------------------------------------------------------------------------
# why
@st.cache_data(show_spinner=False, max_entries=64)
def _rnn_jacobians(_trainer: Trainer, _state_dict, key: tuple, example: int, layer: int):
    model = model_with(_trainer, "rnn", _state_dict)
    inputs, targets = _trainer.trace_inputs[example : example + 1], _trainer.trace_targets[example : example + 1]
    result = jacobians.rnn_jacobians(model, inputs[0], layer)
    measured = measure_gradient_flow(model, _trainer.task, inputs, targets).grad_norm_per_step[layer]
    return result, measured


@st.cache_data(show_spinner=False, max_entries=64)
def _forget_path(_trainer: Trainer, _state_dict, key: tuple, example: int, layer: int) -> jacobians.ForgetPath:
    model = model_with(_trainer, "lstm", _state_dict)
    return jacobians.lstm_forget_path(model, _trainer.trace_inputs[example], layer)


@dataclass
class WhyRnn:
    figure: go.Figure
    step: int
    jacobians: jacobians.RnnJacobians
    trained: bool  # False: the run has no RNN; the numbers are those of its untrained RNN


def why_rnn(trainer: Trainer, step: int, layer: int, example: int) -> WhyRnn:
    if "rnn" in trainer.runs:
        checkpoint = arch_checkpoint(trainer, "rnn", step)
        state_dict, shown_step, trained = checkpoint.state_dict, checkpoint.step, True
    else:
        state_dict, shown_step, trained = jacobians.initial_model(trainer.config, "rnn").state_dict(), 0, False
    key = (trainer.config.key(), weights_digest(state_dict))
    result, measured = _rnn_jacobians(trainer, state_dict, key, example, layer)
    figure = gfig.rnn_jacobian_figure(
        result.step_norm, result.product_norm, result.norm_product,
        measured_ratio=gfig.relative_by_distance(measured) if trainer.config.num_layers == 1 else None,
        spectral_radius=result.spectral_radius,
        title=f"RNN at step {shown_step}, example {example + 1}:<br>step Jacobians and their running product",
    )
    return WhyRnn(figure, shown_step, result, trained)


def fmt(value) -> str:
    return "—" if value is None or not np.isfinite(value) else f"{value:.3g}"


def rnn_explanation(numbers: jacobians.RnnJacobians, distance: int) -> str:
    """The plain-language reading of the RNN chart, with this example's numbers."""
    distance = min(distance, len(numbers.product_norm) - 1)
    actual = numbers.product_norm[distance]
    per_step = actual ** (1.0 / distance) if actual > 0 else 0.0
    radius, saturation = numbers.spectral_radius, float(numbers.saturation.mean())
    if radius < 1:
        cause = (f"W_hh's spectral radius is ρ = {fmt(radius)} < 1, so even where tanh is not saturated a gradient "
                 f"shrinks step after step")
    else:
        cause = (f"W_hh's spectral radius ρ = {fmt(radius)} is above 1 and alone would let gradients grow, but tanh "
                 f"is saturated (mean hₜ² = {fmt(saturation)}, so 1 − hₜ² is small) and cuts them down again")
    trend = "shrinks" if per_step < 1 else "grows"
    return (
        f"**Tanh RNN.** Going one step back multiplies the gradient by the transpose of the step Jacobian "
        f"J = diag(1 − hₜ²) W_hh. Here ‖J‖₂ ranges from {fmt(numbers.step_norm.min())} to "
        f"{fmt(numbers.step_norm.max())} (mean {fmt(float(numbers.step_norm.mean()))}); none can exceed "
        f"‖W_hh‖₂ = {fmt(numbers.weight_norm)}, since tanh′ ≤ 1. Over {distance} steps the product of these norms is "
        f"{fmt(numbers.norm_product[distance])}, but the norm of the actual matrix product is {fmt(actual)}: the "
        f"norm product is only an upper bound, because the directions one step stretches are not the ones the next "
        f"step stretches. {cause}: on average the gradient {trend} {fmt(per_step)}× per step, geometrically, "
        "whatever the optimiser does."
    )


def lstm_explanation(why: "WhyLstm", distance: int) -> str:
    path, initial = why.path, why.initial
    distance = min(distance, path.product_per_unit.shape[1] - 1)
    best_unit = int(path.product_per_unit[:, distance].argmax())
    mean_forget = float(initial.forget_gate.mean())
    return (
        f"**LSTM.** Along the cell state, cₜ = fₜ ⊙ cₜ₋₁ + iₜ ⊙ gₜ, so one step back multiplies the gradient by the "
        f"forget gate, unit by unit, with no weight matrix and no tanh′ in between. {distance} steps back, the product "
        f"of forget gates averaged over the units is {fmt(path.product_mean[distance])} at step {why.step}, against "
        f"{fmt(initial.product_mean[distance])} at initialisation (mean forget gate {fmt(mean_forget)} then, and "
        f"{fmt(mean_forget)}^{distance} = {fmt(mean_forget ** distance)}). The best unit, {best_unit}, keeps "
        f"{fmt(path.product_per_unit[best_unit, distance])}: learning to remember means a few units pushing their "
        "forget gate towards 1, which the mean over all units hides."
    )


@dataclass
class WhyLstm:
    figure: go.Figure
    step: int
    path: jacobians.ForgetPath
    initial: jacobians.ForgetPath
    trained: bool


def why_lstm(trainer: Trainer, step: int, layer: int, example: int) -> WhyLstm:
    if "lstm" in trainer.runs:
        run = trainer.runs["lstm"]
        checkpoint = arch_checkpoint(trainer, "lstm", step)
        state_dict, initial_state, shown_step, trained = (
            checkpoint.state_dict, run.checkpoints[0].state_dict, checkpoint.step, True)
    else:
        initial_state = state_dict = jacobians.initial_model(trainer.config, "lstm").state_dict()
        shown_step, trained = 0, False
    config = trainer.config.key()
    path = _forget_path(trainer, state_dict, (config, weights_digest(state_dict)), example, layer)
    initial = _forget_path(trainer, initial_state, (config, weights_digest(initial_state)), example, layer)
    figure = gfig.forget_path_figure(
        path.product_per_unit, initial_mean=initial.product_mean, step=shown_step,
        title=f"LSTM at step {shown_step}, example {example + 1}:<br>product of the last d forget gates (cell path)",
    )
    return WhyLstm(figure, shown_step, path, initial, trained)
