"""Streamlit glue of the Gradient flow lab: cached engine calls (lstm_viz.analysis.jacobians) and figures per section.

Caches key on small descriptors (the run's config as JSON, a digest of the checkpoint's weights, the knob value),
never on tensors. The what-if and clipping computations are jobs of the server's scheduler (state.scheduler): they
take a slot like a training, the page shows their place in the queue meanwhile, and their results are kept
server-wide, so a result already computed costs no queueing; the trainer and weights ride along as underscore arguments that Streamlit does not hash. Every
model here is built privately from the config and loaded with checkpoint weights, so the training thread's model
and the shared bundled one are never touched.
"""
from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Hashable

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from lstm_viz.figures import gradient as gfig
from lstm_viz.analysis import jacobians
from lstm_viz.core.architectures import ARCHITECTURES
from lstm_viz.figures.training import arch_colour
from lstm_viz.core.gradient_flow import measure_gradient_flow
from lstm_viz.core.model import SequenceModel, build_model
from lstm_viz.runs.scheduler import Ticket, describe_wait, wait_for
from lstm_viz.core.trainer import Checkpoint, Trainer
from . import state

# Other settings of the clipping comparison. Adam rescales every gradient, so with the run's own optimiser clipping
# changes little; plain SGD with a large rate is where an exploding step ruins a run (Pascanu et al. 2013).
CLIP_OPTIMISERS = {
    "sgd": ("sgd", 1.0, "plain SGD, learning rate 1"),
    "run": (None, None, "the run's optimiser and rate"),
}
CLIP_THRESHOLD_DEFAULT = 1.0
# Both runs of a comparison together; about 7 s here for the default adding task at 200 steps, one cell.
CLIPPING_GFLOP_BUDGET = 300.0


def number_columns(rows: list[dict], keep: tuple[str, ...] = ()) -> dict:
    """st.dataframe column settings: every float column with 3 significant digits (ratios span 1e-60 to 1e4)."""
    floats = {name for row in rows for name, value in row.items() if isinstance(value, float)}
    return {name: st.column_config.NumberColumn(format="%.3g") for name in floats if name not in keep}


def config_key(trainer: Trainer) -> str:
    return trainer.config.key()


def weights_digest(state_dict: dict[str, torch.Tensor]) -> str:
    digest = hashlib.sha1()
    for name in sorted(state_dict):
        digest.update(name.encode())
        digest.update(state_dict[name].detach().cpu().numpy().tobytes())
    return digest.hexdigest()


def _model_with(trainer: Trainer, arch: str, state_dict: dict[str, torch.Tensor]) -> SequenceModel:
    model = build_model(trainer.config.model_config(arch), seed=trainer.config.seed)
    model.load_state_dict(state_dict)
    return model


# ----------------------------------------------------------------------------------------------------
# probes over training
def probe_steps(trainer: Trainer) -> list[int]:
    """Every training step at which some architecture recorded a probe, ascending."""
    return sorted({c.step for run in trainer.runs.values() for c in run.checkpoints})


def checkpoint_at(trainer: Trainer, arch: str, step: int) -> Checkpoint:
    """The architecture's latest probe at or before `step` (an architecture that stopped early keeps its last)."""
    checkpoints = trainer.runs[arch].checkpoints
    earlier = [c for c in checkpoints if c.step <= step]
    return earlier[-1] if earlier else checkpoints[0]


def flow_figure(trainer: Trainer, step: int, layer: int, relative: bool) -> go.Figure:
    curves = []
    for arch, run in trainer.runs.items():
        checkpoint = checkpoint_at(trainer, arch, step)
        curves.append(gfig.FlowCurve(
            arch, run.label, checkpoint.gradient_flow.grad_norm_per_step[layer], checkpoint.step,
            run.checkpoints[0].gradient_flow.grad_norm_per_step[layer],
        ))
    layer_note = f", layer {layer + 1}" if trainer.config.num_layers > 1 else ""
    return gfig.gradient_vs_distance(
        curves, relative=relative,
        title=f"Gradient reaching d steps back: at initialisation (dashed) and at step {step}{layer_note}",
    )


def heatmap_figure(trainer: Trainer, step: int, layer: int) -> go.Figure:
    series = {
        arch: (run.label, [c.step for c in run.checkpoints],
               np.stack([c.gradient_flow.grad_norm_per_step[layer] for c in run.checkpoints]))
        for arch, run in trainer.runs.items()
    }
    return gfig.gradient_heatmaps(series, marked_step=step)


def animation_figure(trainer: Trainer, layer: int, relative: bool) -> go.Figure:
    series = {
        arch: (run.label, [c.step for c in run.checkpoints],
               np.stack([c.gradient_flow.grad_norm_per_step[layer] for c in run.checkpoints]))
        for arch, run in trainer.runs.items()
    }
    return gfig.gradient_animation(series, relative=relative)


def reach_table(trainer: Trainer, step: int, layer: int, distance: int) -> list[dict]:
    """Per architecture: the gradient ratio `distance` steps back at init and at the probe shown, and the metric."""
    rows = []
    for arch, run in trainer.runs.items():
        checkpoint = checkpoint_at(trainer, arch, step)
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
def example_caption(trainer: Trainer, example: int) -> str:
    return trainer.task.describe_example(trainer.trace_inputs[example].numpy(), trainer.trace_targets[example].numpy())


@st.cache_data(show_spinner=False, max_entries=64)
def _rnn_jacobians(_trainer: Trainer, _state_dict, key: tuple, example: int, layer: int):
    model = _model_with(_trainer, "rnn", _state_dict)
    inputs, targets = _trainer.trace_inputs[example : example + 1], _trainer.trace_targets[example : example + 1]
    result = jacobians.rnn_jacobians(model, inputs[0], layer)
    measured = measure_gradient_flow(model, _trainer.task, inputs, targets).grad_norm_per_step[layer]
    return result, measured


@st.cache_data(show_spinner=False, max_entries=64)
def _forget_path(_trainer: Trainer, _state_dict, key: tuple, example: int, layer: int) -> jacobians.ForgetPath:
    model = _model_with(_trainer, "lstm", _state_dict)
    return jacobians.lstm_forget_path(model, _trainer.trace_inputs[example], layer)


@dataclass
class WhyRnn:
    figure: go.Figure
    step: int
    jacobians: jacobians.RnnJacobians
    trained: bool  # False: the run has no RNN; the numbers are those of its untrained RNN


def why_rnn(trainer: Trainer, step: int, layer: int, example: int) -> WhyRnn:
    if "rnn" in trainer.runs:
        checkpoint = checkpoint_at(trainer, "rnn", step)
        state_dict, shown_step, trained = checkpoint.state_dict, checkpoint.step, True
    else:
        state_dict, shown_step, trained = jacobians.initial_model(trainer.config, "rnn").state_dict(), 0, False
    key = (config_key(trainer), weights_digest(state_dict))
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
        checkpoint = checkpoint_at(trainer, "lstm", step)
        state_dict, initial_state, shown_step, trained = (
            checkpoint.state_dict, run.checkpoints[0].state_dict, checkpoint.step, True)
    else:
        initial_state = state_dict = jacobians.initial_model(trainer.config, "lstm").state_dict()
        shown_step, trained = 0, False
    config = config_key(trainer)
    path = _forget_path(trainer, state_dict, (config, weights_digest(state_dict)), example, layer)
    initial = _forget_path(trainer, initial_state, (config, weights_digest(initial_state)), example, layer)
    figure = gfig.forget_path_figure(
        path.product_per_unit, initial_mean=initial.product_mean, step=shown_step,
        title=f"LSTM at step {shown_step}, example {example + 1}:<br>product of the last d forget gates (cell path)",
    )
    return WhyLstm(figure, shown_step, path, initial, trained)


# ----------------------------------------------------------------------------------------------------
# what-if results: computed as scheduler jobs, kept server-wide
WHAT_IF_KIND = "what-if"
CLIPPING_KIND = "clipping"


@dataclass
class _ResultStore:
    """Finished what-if and clipping results by key, for every session (bounded, least recently used goes first)."""
    results: OrderedDict = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    max_entries: int = 96

    def get(self, key: Hashable) -> Any:
        with self.lock:
            if key in self.results:
                self.results.move_to_end(key)
                return self.results[key]
            return None

    def put(self, key: Hashable, value: Any) -> None:
        with self.lock:
            self.results[key] = value
            self.results.move_to_end(key)
            while len(self.results) > self.max_entries:
                self.results.popitem(last=False)


@st.cache_resource
def _results() -> _ResultStore:
    return _ResultStore()


def scheduled(kind: str, key: Hashable, units: float, compute: Callable[[Ticket], Any], label: str,
              on_progress: Callable[[float, str], None] | None = None) -> Any:
    """`compute(ticket)`'s result for `key`: from the server-wide store, else computed as a job of the server's
    scheduler (shared with any session asking the same meanwhile) while this page shows the job's place in the
    queue and its estimated wait, then its progress. None if the job was stopped (a time limit, a shutdown)."""
    store = _results()
    stored = store.get((kind, key))
    if stored is not None:
        return stored

    threads = state.hub().torch_threads

    def work(ticket: Ticket) -> Any:
        torch.set_num_threads(threads)  # as every training: one torch thread per job
        result = compute(ticket)
        if result is not None and not ticket.should_stop():
            ticket.progress(ticket.units)
            store.put((kind, key), result)
        return result

    job = state.scheduler().spawn(work, owner=state.session_owner(), kind=kind, units=units, key=(kind, key),
                                  label=label)
    placeholder = st.empty() if on_progress is None else None

    def show(view) -> None:
        waiting = describe_wait(view.ticket)
        fraction = min(1.0, view.ticket.done_units / view.ticket.units)
        text = f"Waiting for the server: {waiting} ({label})" if waiting else f"Computing {label}…"
        if on_progress is not None:
            on_progress(0.0 if waiting else fraction, text)
        else:
            placeholder.info(text, icon=":material/hourglass_top:")

    try:
        return wait_for(job, show)
    finally:
        if placeholder is not None:
            placeholder.empty()


def required(result: Any) -> Any:
    """A scheduled result the page cannot do without: None (the server stopped the job) ends the page with a note."""
    if result is None:
        st.warning("The server stopped this computation before it finished (a restart). Reload the page to try again.")
        st.stop()
    return result


def _probe_units(trainer: Trainer, count: int) -> float:
    """About one unrolled forward and backward of the probe batch per setting, in GFLOP (for the wait estimates)."""
    config = trainer.config
    return count * config.estimated_step_gflop() * config.probe_size / max(1, config.batch_size) / len(config.archs)


# ----------------------------------------------------------------------------------------------------
# what if: initialisation
def forget_bias_probes(trainer: Trainer, key: str) -> list[jacobians.InitProbe] | None:
    probe = (trainer.probe_inputs, trainer.probe_targets)
    return scheduled(
        WHAT_IF_KIND, ("forget-bias", key), _probe_units(trainer, len(jacobians.FORGET_BIASES)),
        lambda ticket: [jacobians.init_probe(trainer.config, "lstm", probe, forget_bias=bias,
                                             label=f"forget bias {bias:g}") for bias in jacobians.FORGET_BIASES],
        "the forget-bias probes")


def weight_scale_probes(trainer: Trainer, key: str) -> list[jacobians.InitProbe] | None:
    probe = (trainer.probe_inputs, trainer.probe_targets)
    return scheduled(
        WHAT_IF_KIND, ("weight-scale", key), _probe_units(trainer, len(jacobians.WEIGHT_SCALES)),
        lambda ticket: [jacobians.init_probe(trainer.config, "rnn", probe, weight_scale=scale,
                                             label=f"W_hh × {scale:g}") for scale in jacobians.WEIGHT_SCALES],
        "the recurrent-weight probes")


def init_probe_figure(probes: list[jacobians.InitProbe], layer: int, title: str) -> go.Figure:
    return gfig.what_if_flows([(p.label, p.flow.grad_norm_per_step[layer]) for p in probes], title=title)


def init_probe_table(probes: list[jacobians.InitProbe], layer: int, distance: int, steps: int) -> list[dict]:
    rows = []
    for probe in probes:
        norms = probe.flow.grad_norm_per_step[layer]
        row = {"setting": probe.label}
        if probe.mean_forget_gates is not None:
            row["mean forget gate"] = probe.mean_forget_gates[layer]
        if probe.spectral_radii is not None:
            row["spectral radius of W_hh"] = probe.spectral_radii[layer]
        row[f"ratio {distance} steps back"] = jacobians.ratio_at_distance(norms, distance)
        row[f"ratio {steps - 1} steps back"] = jacobians.ratio_at_distance(norms, steps - 1)
        rows.append(row)
    return rows


# ----------------------------------------------------------------------------------------------------
# what if: clamp the trained LSTM's forget gate
def _clamp(trainer: Trainer, state_dict, key: tuple, clamps: tuple[float | None, ...]) -> list[jacobians.ClampResult]:
    def compute(ticket: Ticket) -> list[jacobians.ClampResult]:
        model = _model_with(trainer, "lstm", state_dict)
        return jacobians.clamp_experiments(
            model, trainer.task, (trainer.test_inputs, trainer.test_targets),
            (trainer.probe_inputs, trainer.probe_targets), list(clamps))

    config = trainer.config
    units = len(clamps) * config.estimated_step_gflop() * (config.eval_size + config.probe_size) / max(
        1, config.batch_size) / len(config.archs)
    return scheduled(WHAT_IF_KIND, ("clamp", key, clamps), units, compute, "the clamped forget gates")


def clamp_values(chosen: float) -> list[float | None]:
    """None (as trained), then the fixed comparison values and the user's, ascending."""
    return [None, *sorted({*jacobians.CLAMP_VALUES, round(float(chosen), 2)})]


def clamp_results(trainer: Trainer, chosen: float) -> tuple[int, list[jacobians.ClampResult]]:
    """The run's latest LSTM probe (trained) as it is, with the fixed clamps and with the chosen one; (its step,
    results ordered as clamp_values). The fixed set is computed (in one batch) and cached apart from the slider's."""
    checkpoint = trainer.runs["lstm"].checkpoints[-1]
    key = (config_key(trainer), weights_digest(checkpoint.state_dict))
    fixed: tuple[float | None, ...] = (None, *jacobians.CLAMP_VALUES)
    results = {r.clamp: r for r in required(_clamp(trainer, checkpoint.state_dict, key, fixed))}
    chosen = round(float(chosen), 2)
    if chosen not in results:
        results[chosen] = required(_clamp(trainer, checkpoint.state_dict, key, (chosen,)))[0]
    return checkpoint.step, [results[value] for value in clamp_values(chosen)]


def clamp_figure(results: list[jacobians.ClampResult], layer: int, step: int) -> go.Figure:
    clamped = [r for r in results if r.clamp is not None]
    colours = gfig.ordered_colours(len(clamped))
    curves, line_colours, dashes = [], [], []
    for result in results:
        if result.clamp is None:
            curves.append((f"as trained (step {step})", result.flow.grad_norm_per_step[layer]))
            line_colours.append(arch_colour("lstm"))
            dashes.append("solid")
        else:
            curves.append((f"f clamped to {result.clamp:g}", result.flow.grad_norm_per_step[layer]))
            line_colours.append(colours[clamped.index(result)])
            dashes.append("dash")
    return gfig.what_if_flows(curves, colours=line_colours, dashes=dashes,
                              title="Trained LSTM with its forget gate clamped: gradient reaching d steps back")


# ----------------------------------------------------------------------------------------------------
# what if: gradient clipping on and off, trained as one job of the server's scheduler, shared by every session
def clipping_base_config(trainer: Trainer, optimiser: str):
    name, rate, _ = CLIP_OPTIMISERS[optimiser]
    config = trainer.config
    return config if name is None else replace(config, optimizer=name, learning_rate=rate)


def clipping_threshold(trainer: Trainer) -> float:
    return trainer.config.clip_grad_norm or CLIP_THRESHOLD_DEFAULT


def clipping_cost(trainer: Trainer, arch: str, optimiser: str, steps: int) -> float:
    """Estimated GFLOP of the two runs (clipping on and off)."""
    config = jacobians.clipping_config(clipping_base_config(trainer, optimiser), arch, None, steps)
    return 2 * steps * config.estimated_step_gflop()


def _clipping_key(trainer: Trainer, arch: str, optimiser: str, steps: int) -> str:
    return json.dumps([config_key(trainer), arch, optimiser, steps])


def cached_clipping(trainer: Trainer, arch: str, optimiser: str, steps: int) -> list[jacobians.ClippingRun] | None:
    return _results().get((CLIPPING_KIND, _clipping_key(trainer, arch, optimiser, steps)))


def run_clipping(trainer: Trainer, arch: str, optimiser: str, steps: int,
                 on_progress: Callable[[float, str], None]) -> list[jacobians.ClippingRun] | None:
    """Train clipping on, then off, as one scheduler job (unless another session already did, or is doing it);
    the queue and then the progress go to `on_progress(fraction, text)`. None if the server stopped the job."""
    base = clipping_base_config(trainer, optimiser)
    threshold = clipping_threshold(trainer)

    def compute(ticket: Ticket) -> list[jacobians.ClippingRun] | None:
        runs = []
        for index, clip in enumerate((threshold, None)):
            runs.append(jacobians.clipping_run(
                base, arch, clip, steps, should_stop=ticket.should_stop,
                on_progress=lambda fraction, i=index: ticket.progress(ticket.units * (i + fraction) / 2)))
            if ticket.should_stop():
                return None
        return runs

    return scheduled(CLIPPING_KIND, _clipping_key(trainer, arch, optimiser, steps),
                     clipping_cost(trainer, arch, optimiser, steps), compute,
                     f"clipping at {threshold:g} and no clipping", on_progress=on_progress)


def optimiser_label(trainer: Trainer, optimiser: str) -> str:
    name, rate, description = CLIP_OPTIMISERS[optimiser]
    if name is None:
        return f"{description} ({trainer.config.optimizer}, {trainer.config.learning_rate:g})"
    return description


def clipping_figure(trainer: Trainer, arch: str, runs: list[jacobians.ClippingRun], optimiser: str, steps: int) -> go.Figure:
    label = trainer.runs[arch].label if arch in trainer.runs else ARCHITECTURES[arch].label
    lines = []
    for run in runs:
        name = f"clipping at {run.clip:g}" if run.clip is not None else "no clipping"
        if run.status == "diverged":
            name += " (diverged)"
        lines.append((name, run.steps, run.train_loss, run.grad_norm, "solid" if run.clip is not None else "dash"))
    return gfig.clipping_figure(lines, loss_name=trainer.task.metric_name,
                                title=f"{label}, {steps} steps, {optimiser_label(trainer, optimiser)}")


def clipping_table(trainer: Trainer, runs: list[jacobians.ClippingRun]) -> list[dict]:
    """One row per run, numbers as text with 3 significant digits (a diverged run's reach 1e+35)."""
    rows = []
    for run in runs:
        finite_norms = run.grad_norm[np.isfinite(run.grad_norm)]
        rows.append({
            "run": f"clipping at {run.clip:g}" if run.clip is not None else "no clipping",
            "outcome": f"diverged at step {int(run.steps[-1])}" if run.status == "diverged" else f"trained {len(run.steps)} steps",
            f"last test {trainer.task.metric_name}": fmt(float(run.eval_metric[-1])) if len(run.eval_metric) else "—",
            "largest gradient norm": fmt(float(finite_norms.max())) if finite_norms.size else "—",
            "seconds": f"{run.seconds:.1f}",
        })
    return rows
