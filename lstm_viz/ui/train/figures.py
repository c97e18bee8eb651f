"""From a Trainer to figures: pulls plain arrays out of the engine and memoises what only changes per checkpoint.

The Train page's figures are memoised server-wide (`TRAIN_FIGURES`, a lstm_viz.ui.memo.SharedMemo), keyed by the
run they come from (`run_source`: the shared training or the recorded run being replayed, see
lstm_viz.runs.shared_runs) rather than by session: a classroom watching one run builds each chart once, not once per
student. Building a Plotly figure is most of the server's CPU per
refresh (bench/load.py, profiled with py-spy), and Streamlit runs every session's scripts in one process.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from lstm_viz.analysis.memory import memory_units, most_active_units, trace_example
from lstm_viz.figures import training as figures
from lstm_viz.figures.attention import attention_map
from lstm_viz.io.model_upload import IMPORTED_STATUS
from lstm_viz.core.traces import Trace, trace
from lstm_viz.core.trainer import ArchRun, Checkpoint, RunConfig, Trainer
from lstm_viz.ui import session_run
from lstm_viz.ui.memo import SharedMemo, run_source

TRAJECTORY_UNITS = 6

# Server-wide: figures and traces of the runs sessions are watching. A trace of the headline preset is ~0.6 MB, a
# figure 0.1-0.5 MB; the charts of one run at one checkpoint are ~8 entries, so this holds several runs' worth.
SHARED_CACHE_SIZE = 96
TRAIN_FIGURES = SharedMemo(SHARED_CACHE_SIZE)


def _history_key(trainer: Trainer) -> tuple:
    """Changes exactly when any architecture's loss history or evaluations grow: what the loss chart depends on."""
    return tuple((arch, len(run.steps), len(run.eval_steps)) for arch, run in trainer.runs.items())


def loss_figure(trainer: Trainer) -> go.Figure:
    key = (run_source(trainer), "loss", _history_key(trainer))
    return TRAIN_FIGURES(key, lambda: _build_loss_figure(trainer))


def _build_loss_figure(trainer: Trainer) -> go.Figure:
    series = [
        figures.LossSeries(arch, run.label, run.steps, run.train_loss, run.eval_steps, run.eval_metric)
        for arch, run in trainer.runs.items()
    ]
    task = trainer.task
    return figures.loss_curves(
        series, baseline=trainer.baseline, solved_threshold=trainer.solved_threshold,
        metric_name=f"test {task.metric_name}", max_steps=trainer.config.max_steps,
        title=f"Test {task.metric_name} while training", subtitle=f"{task.label}, T = {trainer.config.length}",
        baseline_name=task.baseline_name,
    )


def empty_charts(config: RunConfig) -> tuple[go.Figure, go.Figure]:
    """The loss and gradient charts before a run exists: axes, titles and the baseline and solved lines, no curves.
    Drawn under the Start button so the browser has loaded and laid out Plotly before the click: drawing the first
    chart after it cost about 3 s, mostly the browser fetching and starting plotly.js."""
    task = config.make_task()
    loss = figures.loss_curves(
        [], baseline=task.baseline(config.length), solved_threshold=task.solved_threshold(config.length),
        metric_name=f"test {task.metric_name}", max_steps=config.max_steps,
        title=f"{task.label}, T = {config.length}: test {task.metric_name} while training",
        baseline_name=task.baseline_name,
    )
    gradient = figures.gradient_flow([])
    # Without curves Plotly would pick arbitrary axes; these are the ones a run at initialisation roughly fills.
    gradient.update_layout(
        xaxis_range=[0, task.sequence_length(config.length) - 1], yaxis_range=[-20, 0.5],
        # Two lines: on one, the sentence overflowed the half-width chart at 1400 px and was cut at both ends.
        annotations=[dict(text="After Start: one line per cell,<br>how much of the last step's gradient reaches each step",
                          x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font=dict(size=13))],
    )
    return loss, gradient


def _checkpoint_key(trainer: Trainer) -> tuple:
    """Changes exactly when any architecture records a checkpoint: what the figures below depend on."""
    return tuple((arch, len(run.checkpoints), run.checkpoints[-1].step) for arch, run in trainer.runs.items())


def gradient_figure(trainer: Trainer, layer: int = 0) -> go.Figure:
    key = (run_source(trainer), "gradient", _checkpoint_key(trainer), layer)
    return TRAIN_FIGURES(key, lambda: _build_gradient_figure(trainer, layer))


def _build_gradient_figure(trainer: Trainer, layer: int) -> go.Figure:
    curves = [
        figures.GradientCurve(
            arch, run.label,
            run.checkpoints[-1].gradient_flow.grad_norm_per_step[layer],
            # An imported model has no initialisation of its own, and before the first checkpoint after it the
            # "at initialisation" line would be the same line twice.
            run.checkpoints[0].gradient_flow.grad_norm_per_step[layer]
            if len(run.checkpoints) > 1 and run.status != IMPORTED_STATUS else None,
            step=run.checkpoints[-1].step,
        )
        for arch, run in trainer.runs.items()
    ]
    layer_note = f", layer {layer + 1}" if trainer.config.num_layers > 1 else ""
    return figures.gradient_flow(curves, title="Gradient reaching each time step",
                                 subtitle=f"relative to the last step's{layer_note}")


def reach_distance(trainer: Trainer) -> int:
    steps = trainer.task.sequence_length(trainer.config.length)
    return max(1, min(steps - 1, steps // 2))


def reach_figure(trainer: Trainer, layer: int = 0) -> go.Figure:
    key = (run_source(trainer), "reach", _checkpoint_key(trainer), layer)
    return TRAIN_FIGURES(key, lambda: _build_reach_figure(trainer, layer))


def _build_reach_figure(trainer: Trainer, layer: int) -> go.Figure:
    distance = reach_distance(trainer)
    series = {}
    for arch, run in trainer.runs.items():
        ratios = []
        for checkpoint in run.checkpoints:
            norms = checkpoint.gradient_flow.grad_norm_per_step[layer]
            ratios.append(norms[-1 - distance] / norms[-1] if norms[-1] > 0 else np.nan)
        series[arch] = (run.label, [c.step for c in run.checkpoints], ratios)
    return _budget_axis_until_two_points(figures.gradient_reach(series, distance=distance), trainer)


def _budget_axis_until_two_points(figure: go.Figure, trainer: Trainer) -> go.Figure:
    """A chart over training with only the step-0 checkpoint would get Plotly's default axis, -1 to 1 "training
    steps": until a second checkpoint arrives it spans the step budget, as the loss chart does."""
    if all(len(run.checkpoints) < 2 for run in trainer.runs.values()):
        figure.update_xaxes(range=[0, trainer.config.max_steps])
    return figure


def checkpoint_trace(trainer: Trainer, run_id: int, run: ArchRun, checkpoint: Checkpoint) -> Trace:
    def build() -> Trace:
        model = session_run.trace_model(run.arch)
        model.load_state_dict(checkpoint.state_dict)
        return trace(model, trainer.trace_inputs)

    return TRAIN_FIGURES((run_source(trainer), "trace", run.arch, checkpoint.step), build)


def input_channels(trainer: Trainer, example: int) -> dict[str, np.ndarray]:
    return trainer.task.input_channels(trainer.trace_inputs[example].numpy())


def input_tokens(trainer: Trainer, example: int) -> list[str] | None:
    """The token at each step of a token task's example (a sentence's words), drawn as text above the heatmaps."""
    return trainer.task.input_tokens(trainer.trace_inputs[example].numpy())


def example_caption(trainer: Trainer, example: int) -> str:
    """What the shown example asks for, in numbers, so the heatmaps can be checked by eye."""
    return trace_example(trainer, example).description


def marks_task_steps(trainer: Trainer, example: int) -> bool:
    """Whether the example's charts draw orange dotted lines at the steps the task is about (adding: the markers)."""
    return figures.event_steps(input_channels(trainer, example)).size > 0


def internals_figure(trainer: Trainer, run_id: int, arch: str, checkpoint: Checkpoint, example: int, layer: int) -> go.Figure:
    run = trainer.runs[arch]

    def build() -> go.Figure:
        layer_arrays = checkpoint_trace(trainer, run_id, run, checkpoint).layers[layer]
        names = [n for n in run.model.architecture.trace_names if n != "hidden_state" or arch != "lstm"]
        arrays = {name: layer_arrays[name][example] for name in names}
        layer_note = f", layer {layer + 1}" if trainer.config.num_layers > 1 else ""
        return figures.gate_heatmaps(
            arrays, input_channels(trainer, example), tokens=input_tokens(trainer, example),
            title=f"{run.label} at step {checkpoint.step}: example {example + 1}{layer_note}",
        )

    return TRAIN_FIGURES((run_source(trainer), "internals", arch, checkpoint.step, example, layer), build)


def trajectory_figure(trainer: Trainer, run_id: int, arch: str, checkpoint: Checkpoint, example: int, layer: int) -> go.Figure:
    run = trainer.runs[arch]

    def build() -> go.Figure:
        layer_arrays = checkpoint_trace(trainer, run_id, run, checkpoint).layers[layer]
        name, symbol = ("cell_state", "cₜ") if "cell_state" in layer_arrays else ("hidden_state", "hₜ")
        what = "cell state" if name == "cell_state" else "hidden state"
        if "forget_gate" in layer_arrays:
            # The units that keep memory have forget gates near 1; by plain activity the eye lands on noisy ones.
            units = memory_units(layer_arrays["forget_gate"][example], TRAJECTORY_UNITS)
            chosen = "memory units (highest forget gate)"
        else:
            units = most_active_units(layer_arrays[name][example], TRAJECTORY_UNITS)
            chosen = "most active units"
        return figures.cell_state_trajectories(
            layer_arrays[name][example], input_channels(trainer, example), units=units,
            tokens=input_tokens(trainer, example),
            title=f"{run.label} {what}", subtitle=f"{TRAJECTORY_UNITS} {chosen}", value_label=symbol,
        )

    return TRAIN_FIGURES((run_source(trainer), "trajectory", arch, checkpoint.step, example, layer), build)


def forget_figures(trainer: Trainer, arch: str, layer: int, upto_step: int) -> tuple[go.Figure, go.Figure] | None:
    key = (run_source(trainer), "forget", arch, layer, upto_step, _checkpoint_key(trainer))
    return TRAIN_FIGURES(key, lambda: _build_forget_figures(trainer, arch, layer, upto_step))


def _build_forget_figures(trainer: Trainer, arch: str, layer: int, upto_step: int) -> tuple[go.Figure, go.Figure] | None:
    checkpoints = [c for c in trainer.runs[arch].checkpoints if c.step <= upto_step]
    if not checkpoints or checkpoints[-1].gradient_flow.forget_gate_mean_per_unit is None:
        return None
    per_unit = np.stack([c.gradient_flow.forget_gate_mean_per_unit[layer] for c in checkpoints])
    over_training = _budget_axis_until_two_points(
        figures.forget_gate_over_training([c.step for c in checkpoints], per_unit), trainer)
    sorted_units = figures.forget_gate_per_unit(per_unit[-1], step=checkpoints[-1].step)
    return over_training, sorted_units


def attention_figure(trainer: Trainer, run_id: int, arch: str, checkpoint: Checkpoint, example: int, layer: int,
                     head: int) -> go.Figure:
    """One head's attention map of a Transformer on probe example `example` at `checkpoint`: what it has in place
    of a forget gate, from the same trace as its hidden-state heatmap."""
    run = trainer.runs[arch]

    def build() -> go.Figure:
        weights = checkpoint_trace(trainer, run_id, run, checkpoint).attention[layer][example, head]
        layers = trainer.config.num_layers
        # A short title and the rest as a subtitle: the chart is half the page wide, narrower still in presenter mode.
        return attention_map(
            weights, labels=input_tokens(trainer, example), marked=figures.event_steps(input_channels(trainer, example)),
            title=f"{run.label} attention at step {checkpoint.step}",
            subtitle=f"example {example + 1}, layer {layer + 1} of {layers}, head {head + 1} of {trainer.config.heads}",
            height=520,  # half the page wide: a taller figure only adds blank space above and below the square map
        )

    return TRAIN_FIGURES((run_source(trainer), "attention", arch, checkpoint.step, example, layer, head), build)
