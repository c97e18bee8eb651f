"""The Train page's "Inside the cells" panel: one architecture's gates and states on one probe example at one
checkpoint, the memory units' trajectories, the gradient's reach over training, and what the architecture has in
place of a forget gate (the LSTM's per-unit forget gates; the Transformer's attention map). Drawn by the dashboard's
slower fragment, so it refreshes with the checkpoints."""
from __future__ import annotations

import streamlit as st

from lstm_viz.core.architectures import ARCHITECTURES
from lstm_viz.core.trainer import ArchRun, Checkpoint, Trainer
from lstm_viz.ui import charts, session_run
from lstm_viz.ui.train import figures as views


def pending(trainer: Trainer) -> None:
    st.subheader("Inside the cells")
    st.caption(f":material/hourglass_top: Drawing every gate and state at step {trainer.step}…")


def draw(trainer: Trainer) -> None:
    config = trainer.config
    run_id = session_run.handle().run_id
    st.subheader("Inside the cells")
    archs = list(trainer.runs)
    default_arch = "lstm" if "lstm" in archs else archs[0]
    arch_key, example_key, layer_key = f"internals_arch_{run_id}", f"example_{run_id}", f"layer_{run_id}"
    columns = st.columns([2, 2, 1, 3])
    arch = columns[0].segmented_control(
        "Architecture", archs, default=default_arch, key=arch_key, format_func=lambda a: ARCHITECTURES[a].label,
        help="Whose insides to show.",
    ) or default_arch
    example = columns[1].segmented_control(
        "Example", list(range(config.trace_examples)), default=0, key=example_key,
        format_func=lambda i: f"#{i + 1}", help="One of the fixed probe sequences; the same ones at every checkpoint.",
    ) or 0
    layer = 0
    if config.num_layers > 1:
        layer = columns[2].selectbox("Layer", list(range(config.num_layers)), key=layer_key,
                                     format_func=lambda i: f"{i + 1}")
    run = trainer.runs[arch]
    checkpoint = _checkpoint(run, columns[3], run_id)
    guides = " Orange dotted lines mark the steps the task is about." if views.marks_task_steps(trainer, example) else ""
    st.caption(views.example_caption(trainer, example) + guides)

    left, right = st.columns([3, 2])
    with left:
        charts.show(views.internals_figure(trainer, run_id, arch, checkpoint, example, layer), "internals_chart",
                    name=f"{arch}_gates_step{checkpoint.step}_example{example + 1}")
    with right:
        charts.show(views.trajectory_figure(trainer, run_id, arch, checkpoint, example, layer), "trajectory_chart",
                    name=f"{arch}_states_step{checkpoint.step}_example{example + 1}")
        forget = views.forget_figures(trainer, arch, layer, checkpoint.step)
        if forget is not None:
            charts.show(forget[0], "forget_chart", name=f"{arch}_forget_gate_over_training")
    left, right = st.columns(2)
    with left:
        charts.show(views.reach_figure(trainer, layer), "reach_chart", name="gradient_reach_over_training")
    with right:
        if forget is not None:
            charts.show(forget[1], "forget_units_chart", name=f"{arch}_forget_gate_per_unit_step{checkpoint.step}")
        elif not run.model.architecture.recurrent:
            _attention(trainer, run_id, run, checkpoint, example, layer)
        else:
            st.caption(f"{run.label} has no forget gate; pick the LSTM to see its per-unit forget gates.")


def _checkpoint(run: ArchRun, column, run_id: int) -> Checkpoint:
    """The latest checkpoint while training, else the one the slider picks."""
    checkpoints = run.checkpoints
    if session_run.is_running() or len(checkpoints) == 1:
        column.caption(f"Latest checkpoint: step {checkpoints[-1].step}. After training, a slider lets you "
                       "scrub through every checkpoint.")
        return checkpoints[-1]
    steps = [c.step for c in checkpoints]
    chosen = column.select_slider("Checkpoint (training step)", steps, value=steps[-1],
                                  key=f"checkpoint_{run_id}_{run.arch}",
                                  help="Weights saved during training; traces are recomputed from them.")
    return checkpoints[steps.index(chosen)]


def _attention(trainer: Trainer, run_id: int, run: ArchRun, checkpoint: Checkpoint, example: int, layer: int) -> None:
    """A Transformer's memory: one head's attention on the shown example at the shown checkpoint."""
    heads = trainer.config.heads
    head = 0
    if heads > 1:
        head = st.segmented_control(
            "Attention head", list(range(heads)), default=0, key=f"attention_head_{run_id}",
            format_func=lambda h: f"head {h + 1}", help="Each head has its own queries and keys.",
        ) or 0
    charts.show(views.attention_figure(trainer, run_id, run.arch, checkpoint, example, layer, head),
                "attention_chart", name=f"{run.arch}_attention_head{head + 1}_step{checkpoint.step}_example{example + 1}")
    st.caption("Row t: how position t shares its attention over positions 0 … t (each row sums to 1; the blank upper "
               "triangle is the causal mask). Gates and memory shows every layer and head.")
