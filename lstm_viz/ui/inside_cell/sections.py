"""The sections of the "Inside the cell" page: the trained model's step (its controls, its equations and diagram,
the same step in the other cells) and the sandbox of one LSTM unit set by hand. The numbers come from
lstm_viz.analysis.cell_step, the figures from lstm_viz.figures.cell, the traces and defaults from ui/inside_cell/settings.py."""
from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from lstm_viz.analysis.cell_step import fmt
from lstm_viz.analysis.checkpoints import checkpoint_at
from lstm_viz.analysis.memory import trace_example
from lstm_viz.core.architectures import ARCHITECTURES
from lstm_viz.core.trainer import Checkpoint
from lstm_viz.figures import cell as cell_figures
from lstm_viz.ui.inside_cell import attention as cell_attention, traces as cell_traces, settings as cell_view
from lstm_viz.ui import charts, page_url, presenter, session_run
from lstm_viz.ui.plain import plain
from lstm_viz.ui.session_run import ExploredRun


def show_equations(step, unit: int, small: bool = False) -> None:
    for label, latex in step.equations(unit):
        st.markdown(f"**{label}**")
        st.latex((r"\small " if small else "") + latex)


def run_caption(explored: ExploredRun) -> str:
    trainer = explored.trainer
    if explored.source == "bundled":
        return ("Showing the bundled run (adding problem, T = 100, RNN, GRU and LSTM with 64 units). "
                "Train a run on the Train page and this page shows yours.")
    running = " It is still training: this is a snapshot; reload to see newer checkpoints." if session_run.is_running() else ""
    return f"Showing the run trained in this session ({trainer.task.label}, T = {trainer.config.length}).{running}"


@dataclass(frozen=True)
class CellView:
    """What the trained view shows: one architecture's checkpoint, one example, layer, unit and time step."""
    explored: ExploredRun
    arch: str
    checkpoint: Checkpoint
    example: int
    layer: int
    unit: int
    t: int


def keep_valid_settings(explored: ExploredRun) -> None:
    """Values this run does not have fall back before the widgets exist (page_url.fit names those a link gave)."""
    ss, trainer = st.session_state, explored.trainer
    archs = list(trainer.runs)
    page_url.fit("cell_arch", archs, "lstm" if "lstm" in archs else archs[0])
    page_url.fit("cell_example", range(trainer.config.trace_examples), 0)
    page_url.fit("cell_layer", range(trainer.config.num_layers), 0)
    # The checkpoint at a step by the explorer pages' one rule: the latest at or before it ("-1": the latest).
    wanted = ss["cell_checkpoint"]
    checkpoints = trainer.runs[ss["cell_arch"]].checkpoints
    ss["cell_checkpoint"] = checkpoint_at(checkpoints, wanted if isinstance(wanted, int) else -1).step


def pick_view(explored: ExploredRun) -> CellView:
    """The controls above the step (cell, example, layer, unit, checkpoint; back, time step, next)."""
    ss, trainer = st.session_state, explored.trainer
    keep_valid_settings(explored)
    top = st.columns([3, 1, 1, 1, 2])  # the Cell radio on one line, in presenter mode too
    arch = top[0].radio("Cell", list(trainer.runs), key="cell_arch", horizontal=True,
                        format_func=lambda a: ARCHITECTURES[a].label)
    example = top[1].selectbox("Example", list(range(trainer.config.trace_examples)), key="cell_example",
                               format_func=lambda i: f"#{i + 1}",
                               help="One of the run's fixed probe sequences, the same at every checkpoint.")
    layer = 0
    if trainer.config.num_layers > 1:
        layer = top[2].selectbox("Layer", list(range(trainer.config.num_layers)), key="cell_layer",
                                 format_func=lambda i: f"{i + 1}")
    run = trainer.runs[arch]
    checkpoint_steps = [c.step for c in run.checkpoints]
    if len(checkpoint_steps) > 1:
        chosen_step = top[4].select_slider("Checkpoint (training step)", checkpoint_steps, key="cell_checkpoint",
                                           help="The weights saved at this training step; the last by default.")
    else:
        chosen_step = checkpoint_steps[0]
        top[4].caption(f"Checkpoint: step {chosen_step} (the only one so far).")
    checkpoint = run.checkpoints[checkpoint_steps.index(chosen_step)]
    steps, hidden_size = trainer.trace_inputs.shape[1], trainer.config.hidden_size
    if not 0 <= ss["cell_step"] < steps:
        ss["cell_step"] = cell_view.default_step(trainer, example)
    if not 0 <= ss["cell_unit"] < hidden_size:
        ss["cell_unit"] = cell_traces.default_unit(explored, arch, checkpoint, example, layer)
    unit = top[3].number_input("Unit j", min_value=0, max_value=hidden_size - 1, step=1, key="cell_unit",
                               help="Whose equations and diagram to show (for the Transformer: component j of "
                                    "the residual stream). The default is the LSTM unit with the "
                                    "highest forget gate on this example: it holds the memory.")
    return CellView(explored, arch, checkpoint, example, layer, unit, time_step(steps))


def time_step(steps: int) -> int:
    """Back, the time-step slider, Next."""
    ss = st.session_state
    # Presenter mode's larger type needs wider Back / Next buttons, or their labels are cut to "◀ …".
    back, slider, forward = st.columns([2, 10, 2] if presenter.on() else [1, 10, 1], vertical_alignment="bottom")
    back.button("◀ Back", key="cell_back", on_click=cell_view.shift_step, args=(-1, steps - 1),
                disabled=ss["cell_step"] <= 0, width="stretch")
    forward.button("Next ▶", key="cell_next", on_click=cell_view.shift_step, args=(1, steps - 1),
                   disabled=ss["cell_step"] >= steps - 1, width="stretch")
    return slider.slider("Time step t", min_value=0, max_value=steps - 1, key="cell_step")


def own_step(view: CellView) -> None:
    """The step in words, its equations, the LSTM's diagram, every unit's values (a Transformer: its attention)."""
    if not ARCHITECTURES[view.arch].recurrent:
        cell_attention.attention_step_view(view)
        return
    trainer, arch, unit, t, checkpoint = view.explored.trainer, view.arch, view.unit, view.t, view.checkpoint
    said, short = cell_view.input_at(trainer, view.example, t)
    description = trace_example(trainer, view.example).description
    layer_note = f" Layer {view.layer + 1} reads the hidden state of layer {view.layer} at this step." if view.layer else ""
    st.info(f"**Step t = {t}** of {trainer.trace_inputs.shape[1]}: the input is {said}. {plain(description)}{layer_note}")
    step = cell_traces.step_of(view.explored, arch, checkpoint, view.example, view.layer, t)
    label = ARCHITECTURES[arch].label
    if arch == "lstm":
        left, right = st.columns([5, 6], gap="medium")
        with left:
            st.subheader(f"{label}, unit {unit}, t = {t}")
            show_equations(step, unit)
        with right:
            charts.show(cell_figures.lstm_diagram(
                step, unit, title=f"LSTM cell, unit {unit} at t = {t} (checkpoint {checkpoint.step})",
                input_label=f"= {short}"), "cell_diagram",
                name=f"lstm_cell_unit{unit}_t{t}_step{checkpoint.step}", in_zip=False)
            st.caption(f"σ(z) = 1 / (1 + e^(−z)). Numbers shown to 4 decimals: each shown sum adds up exactly; "
                       f"a product of two shown numbers can differ from the shown result in the last digit. "
                       f"c(t−1) = {fmt(step.c_prev[unit])}, h(t−1) = {fmt(step.h_prev[unit])}.")
    else:
        st.subheader(f"{label}, unit {unit}, t = {t}")
        show_equations(step, unit)
        st.caption("The cell diagram is drawn for the LSTM; pick it above to see the conveyor belt.")
    charts.show(cell_figures.unit_vectors(
        step.vectors(), unit, arch=arch,
        title=f"{label}: every unit at t = {t} (unit {unit} highlighted)"), "cell_vectors",
        name=f"{arch}_units_t{t}_step{checkpoint.step}", in_zip=False)


def other_steps(view: CellView) -> None:
    """The same step in the other cells, each at its checkpoint for the step shown."""
    trainer = view.explored.trainer
    others = [a for a in trainer.runs if a != view.arch]
    st.subheader("The same step in the other cells")
    if not others:
        st.caption("This run trained one architecture. Train the RNN, GRU and LSTM together on the Train page to "
                   "compare their steps here.")
        return
    recurrent = [other for other in others if ARCHITECTURES[other].recurrent]
    if len(recurrent) < len(others):
        st.caption("The Transformer has no cell step to set beside these (no state carried from step to step): "
                   "pick it above to take its attention at this position apart.")
    for column, other in zip(st.columns(len(recurrent)) if recurrent else [], recurrent):
        other_checkpoint = checkpoint_at(trainer.runs[other].checkpoints, view.checkpoint.step)
        other_step = cell_traces.step_of(view.explored, other, other_checkpoint, view.example, view.layer, view.t)
        other_label = ARCHITECTURES[other].label
        with column:
            note = other_checkpoint_note(trainer.runs[other], other_checkpoint, view.checkpoint.step)
            st.markdown(f"**{other_label}**, checkpoint {other_checkpoint.step}{note}, unit {view.unit}")
            show_equations(other_step, view.unit, small=True)
            charts.show(cell_figures.unit_vectors(
                other_step.vectors(), view.unit, arch=other, columns=2,
                title=f"{other_label}: every unit at t = {view.t}"), f"cell_vectors_{other}",
                name=f"{other}_units_t{view.t}_step{other_checkpoint.step}", in_zip=False)


def other_checkpoint_note(run, checkpoint, step: int) -> str:
    """Why another cell is shown at another checkpoint than `step`: it stopped before it, or (when the cell shown
    above stopped first, as a Transformer that solves early) it has no checkpoint at exactly that step."""
    if checkpoint.step == step:
        return ""
    if checkpoint is run.checkpoints[-1]:
        stopped = "solved the task and stopped" if run.status == "solved" else "stopped"
        return f" (its last: it {stopped} at step {checkpoint.step})"
    return f" (its latest checkpoint at or before step {step})"


def trained_view() -> None:
    explored = session_run.explored_run()
    st.caption(run_caption(explored))
    view = pick_view(explored)
    own_step(view)
    other_steps(view)


def sandbox_view() -> None:
    st.caption("One LSTM unit with one input. Every weight is 1, so each gate's pre-activation is "
               "x(t) + h(t−1) + its bias. Move a slider and every value below follows.")
    ranges = cell_view.SANDBOX_RANGES
    states = st.columns(3, gap="large")
    states[0].slider("x(t), the input", *ranges["cell_sb_x"], step=0.05, key="cell_sb_x")
    states[1].slider("h(t−1), the previous hidden state", *ranges["cell_sb_h"], step=0.05, key="cell_sb_h")
    states[2].slider("c(t−1), the previous cell state", *ranges["cell_sb_c"], step=0.05, key="cell_sb_c")
    biases = st.columns(4, gap="large")
    biases[0].slider("input gate bias b_i", *ranges["cell_sb_bi"], step=0.1, key="cell_sb_bi")
    biases[1].slider("forget gate bias b_f", *ranges["cell_sb_bf"], step=0.1, key="cell_sb_bf",
                     help="A large forget bias keeps the cell state: c(t) ≈ c(t−1) + i·g.")
    biases[2].slider("candidate bias b_g", *ranges["cell_sb_bg"], step=0.1, key="cell_sb_bg")
    biases[3].slider("output gate bias b_o", *ranges["cell_sb_bo"], step=0.1, key="cell_sb_bo")
    step = cell_view.sandbox_from_state()
    left, right = st.columns([5, 6], gap="medium")
    with left:
        show_equations(step, 0)
    with right:
        charts.show(cell_figures.lstm_diagram(step, 0, title="One LSTM unit, set by hand",
                                              input_label=f"= {fmt(float(step.x[0]), 2)}"),
                    "cell_sandbox_diagram", name="lstm_unit_set_by_hand", in_zip=False)
