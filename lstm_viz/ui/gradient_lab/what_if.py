"""Streamlit glue of the Gradient flow lab's what-if tabs: the initialisation probes (forget-gate bias, recurrent
weight scale), the clamped forget gate and the gradient-clipping comparison.

These computations are jobs of the server's scheduler (services.scheduler): they take a slot like a training, the page
shows their place in the queue meanwhile, and their results are kept server-wide (a lstm_viz.ui.memo.SharedMemo),
so a result already computed costs no queueing. Every model here is built privately from the config and loaded with
checkpoint weights, so the training thread's model and the shared bundled one are never touched.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any, Callable, Hashable

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from lstm_viz.analysis import jacobians
from lstm_viz.core.architectures import ARCHITECTURES
from lstm_viz.core.trainer import Trainer
from lstm_viz.figures import gradient as gfig
from lstm_viz.figures.style import arch_colour
from lstm_viz.runs.scheduler import Ticket, describe_wait, wait_for
from lstm_viz.ui import services
from lstm_viz.ui.gradient_lab.probes import fmt, model_with, weights_digest
from lstm_viz.ui.memo import SharedMemo

# Other settings of the clipping comparison. Adam rescales every gradient, so with the run's own optimiser clipping
# changes little; plain SGD with a large rate is where an exploding step ruins a run (Pascanu et al. 2013).
CLIP_OPTIMISERS = {
    "sgd": ("sgd", 1.0, "plain SGD, learning rate 1"),
    "run": (None, None, "the run's optimiser and rate"),
}
CLIP_THRESHOLD_DEFAULT = 1.0
# Both runs of a comparison together; about 7 s here for the default adding task at 200 steps, one cell.
CLIPPING_GFLOP_BUDGET = 300.0
RESULTS_SIZE = 96  # finished what-if and clipping results kept for every session, least recently used goes first

# ----------------------------------------------------------------------------------------------------
# what-if results: computed as scheduler jobs, kept server-wide
WHAT_IF_KIND = "what-if"
CLIPPING_KIND = "clipping"


@st.cache_resource
def _results() -> SharedMemo:
    return SharedMemo(RESULTS_SIZE)


def scheduled(kind: str, key: Hashable, units: float, compute: Callable[[Ticket], Any], label: str,
              on_progress: Callable[[float, str], None] | None = None) -> Any:
    """`compute(ticket)`'s result for `key`: from the server-wide store, else computed as a job of the server's
    scheduler (shared with any session asking the same meanwhile) while this page shows the job's place in the
    queue and its estimated wait, then its progress. None if the job was stopped (a time limit, a shutdown)."""
    store = _results()
    stored = store.get((kind, key))
    if stored is not None:
        return stored

    threads = services.hub().torch_threads

    def work(ticket: Ticket) -> Any:
        torch.set_num_threads(threads)  # as every training: one torch thread per job
        result = services.on_cluster(compute, ticket)  # on a Ray worker when the server has a cluster
        if result is not None and not ticket.should_stop():
            ticket.progress(ticket.units)
            store.put((kind, key), result)
        return result

    job = services.scheduler().spawn(work, owner=services.session_owner(), kind=kind, units=units, key=(kind, key),
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
@dataclass(frozen=True)
class InitKnob:
    """One what-if at initialisation: which cell it changes, the values it tries, and how a value is named."""
    arch: str
    argument: str  # jacobians.init_probe's keyword for the value
    values: tuple[float, ...]
    label: str  # a value's name, formatted with it
    computing: str  # what the wait message says is being computed


INIT_KNOBS = {
    "forget-bias": InitKnob("lstm", "forget_bias", tuple(jacobians.FORGET_BIASES), "forget bias {:g}",
                            "the forget-bias probes"),
    "weight-scale": InitKnob("rnn", "weight_scale", tuple(jacobians.WEIGHT_SCALES), "W_hh × {:g}",
                             "the recurrent-weight probes"),
}


def init_probes(trainer: Trainer, key: str, knob: str) -> list[jacobians.InitProbe] | None:
    """The run's initial `INIT_KNOBS[knob].arch` with each of the knob's values, probed once (a scheduler job)."""
    setting = INIT_KNOBS[knob]
    probe = (trainer.probe_inputs, trainer.probe_targets)
    return scheduled(
        WHAT_IF_KIND, (knob, key), _probe_units(trainer, len(setting.values)),
        lambda ticket: [jacobians.init_probe(trainer.config, setting.arch, probe, label=setting.label.format(value),
                                             **{setting.argument: value}) for value in setting.values],
        setting.computing)


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
        model = model_with(trainer, "lstm", state_dict)
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
    key = (trainer.config.key(), weights_digest(checkpoint.state_dict))
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
    return json.dumps([trainer.config.key(), arch, optimiser, steps])


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


def clamp_table(trainer: Trainer, results: list[jacobians.ClampResult], layer: int, distance: int) -> list[dict]:
    """One row per clamp: the test metric, it over the no-memory baseline, the gradient ratio `distance` back."""
    return [{
        "forget gate": "as trained" if r.clamp is None else f"clamped to {r.clamp:g}",
        f"test {trainer.task.metric_name}": r.metric,
        f"÷ no-memory baseline ({trainer.baseline:.3g})": r.metric / trainer.baseline,
        f"gradient ratio {distance} steps back": jacobians.ratio_at_distance(r.flow.grad_norm_per_step[layer], distance),
    } for r in results]
