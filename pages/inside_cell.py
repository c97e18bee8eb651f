import logging

import streamlit as st

from lstm_viz.figures import cell as cell_figures
from lstm_viz.core.architectures import ARCHITECTURES
from lstm_viz.analysis.cell_step import fmt
from lstm_viz.ui import cell_view, charts, page_schemas, page_url, presenter, state
from lstm_viz.ui.plain import plain

log = logging.getLogger(__name__)

state.init_session()
page = page_url.sync(page_schemas.INSIDE_CELL)
ss = st.session_state

st.title("Inside the cell")
st.markdown("One time step of a trained cell, number by number: every gate's equation with the real values "
            "substituted, and the cell drawn with lines that carry those values.")
page.warn()
mode = st.radio("View", ["trained", "sandbox"], key="cell_mode", horizontal=True, label_visibility="collapsed",
                format_func={"trained": "Trained model", "sandbox": "Sandbox: one LSTM unit by hand"}.get)


def show_equations(step, unit: int, small: bool = False) -> None:
    for label, latex in step.equations(unit):
        st.markdown(f"**{label}**")
        st.latex((r"\small " if small else "") + latex)


def trained_view() -> None:
    explored = state.explored_run()
    trainer = explored.trainer
    if explored.source == "bundled":
        st.caption("Showing the bundled run (adding problem, T = 100, RNN, GRU and LSTM with 64 units). "
                   "Train a run on the Train page and this page shows yours.")
    else:
        running = " It is still training: this is a snapshot; reload to see newer checkpoints." if state.is_running() else ""
        st.caption(f"Showing the run trained in this session ({trainer.task.label}, T = {trainer.config.length}).{running}")
    archs = list(trainer.runs)
    if ss["cell_arch"] not in archs:
        ss["cell_arch"] = "lstm" if "lstm" in archs else archs[0]
    examples = trainer.config.trace_examples
    if not 0 <= ss["cell_example"] < examples:
        ss["cell_example"] = 0
    if not 0 <= ss["cell_layer"] < trainer.config.num_layers:
        ss["cell_layer"] = 0

    top = st.columns([3, 1, 1, 1, 2])  # the Cell radio on one line, in presenter mode too
    arch = top[0].radio("Cell", archs, key="cell_arch", horizontal=True, format_func=lambda a: ARCHITECTURES[a].label)
    example = top[1].selectbox("Example", list(range(examples)), key="cell_example", format_func=lambda i: f"#{i + 1}",
                               help="One of the run's fixed probe sequences, the same at every checkpoint.")
    layer = 0
    if trainer.config.num_layers > 1:
        layer = top[2].selectbox("Layer", list(range(trainer.config.num_layers)), key="cell_layer",
                                 format_func=lambda i: f"{i + 1}")
    run = trainer.runs[arch]
    checkpoint_steps = [c.step for c in run.checkpoints]
    if ss["cell_checkpoint"] not in checkpoint_steps:
        ss["cell_checkpoint"] = checkpoint_steps[-1]
    if len(checkpoint_steps) > 1:
        chosen_step = top[4].select_slider("Checkpoint (training step)", checkpoint_steps, key="cell_checkpoint",
                                           help="The weights saved at this training step; the last by default.")
    else:
        chosen_step = checkpoint_steps[0]
        top[4].caption(f"Checkpoint: step {chosen_step} (the only one so far).")
    checkpoint = run.checkpoints[checkpoint_steps.index(chosen_step)]

    steps = trainer.trace_inputs.shape[1]
    hidden_size = trainer.config.hidden_size
    if not 0 <= ss["cell_step"] < steps:
        ss["cell_step"] = cell_view.default_step(trainer, example)
    if not 0 <= ss["cell_unit"] < hidden_size:
        ss["cell_unit"] = cell_view.default_unit(explored, arch, checkpoint, example, layer)
    unit = top[3].number_input("Unit j", min_value=0, max_value=hidden_size - 1, step=1, key="cell_unit",
                               help="Whose equations and diagram to show. The default is the LSTM unit with the "
                                    "highest forget gate on this example: it holds the memory.")

    # Presenter mode's larger type needs wider Back / Next buttons, or their labels are cut to "◀ …".
    back, slider, forward = st.columns([2, 10, 2] if presenter.on() else [1, 10, 1], vertical_alignment="bottom")
    back.button("◀ Back", key="cell_back", on_click=cell_view.shift_step, args=(-1, steps - 1),
                disabled=ss["cell_step"] <= 0, width="stretch")
    forward.button("Next ▶", key="cell_next", on_click=cell_view.shift_step, args=(1, steps - 1),
                   disabled=ss["cell_step"] >= steps - 1, width="stretch")
    t = slider.slider("Time step t", min_value=0, max_value=steps - 1, key="cell_step")

    said, short = cell_view.input_at(trainer, example, t)
    example_inputs = trainer.trace_inputs[example].numpy()
    description = trainer.task.describe_example(example_inputs, trainer.trace_targets[example].numpy())
    layer_note = f" Layer {layer + 1} reads the hidden state of layer {layer} at this step." if layer else ""
    st.info(f"**Step t = {t}** of {steps}: the input is {said}. {plain(description)}{layer_note}")

    step = cell_view.step_of(explored, arch, checkpoint, example, layer, t)
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

    others = [a for a in archs if a != arch]
    st.subheader("The same step in the other cells")
    if not others:
        st.caption("This run trained one architecture. Train the RNN, GRU and LSTM together on the Train page to "
                   "compare their steps here.")
        return
    columns = st.columns(len(others))
    for column, other in zip(columns, others):
        other_checkpoint = cell_view.checkpoint_at(trainer, other, checkpoint.step)
        other_step = cell_view.step_of(explored, other, other_checkpoint, example, layer, t)
        other_label = ARCHITECTURES[other].label
        with column:
            stopped = "solved the task and stopped" if trainer.runs[other].status == "solved" else "stopped"
            note = "" if other_checkpoint.step == checkpoint.step else \
                f" (its last: it {stopped} at step {other_checkpoint.step})"
            st.markdown(f"**{other_label}**, checkpoint {other_checkpoint.step}{note}, unit {unit}")
            show_equations(other_step, unit, small=True)
            charts.show(cell_figures.unit_vectors(
                other_step.vectors(), unit, arch=other, columns=2,
                title=f"{other_label}: every unit at t = {t}"), f"cell_vectors_{other}",
                name=f"{other}_units_t{t}_step{other_checkpoint.step}", in_zip=False)


def sandbox_view() -> None:
    st.caption("One LSTM unit with one input. Every weight is 1, so each gate's pre-activation is "
               "x(t) + h(t−1) + its bias. Move a slider and every value below follows.")
    states = st.columns(3, gap="large")
    states[0].slider("x(t), the input", *cell_view.SANDBOX_RANGES["cell_sb_x"], step=0.05, key="cell_sb_x")
    states[1].slider("h(t−1), the previous hidden state", *cell_view.SANDBOX_RANGES["cell_sb_h"], step=0.05, key="cell_sb_h")
    states[2].slider("c(t−1), the previous cell state", *cell_view.SANDBOX_RANGES["cell_sb_c"], step=0.05, key="cell_sb_c")
    biases = st.columns(4, gap="large")
    biases[0].slider("input gate bias b_i", *cell_view.SANDBOX_RANGES["cell_sb_bi"], step=0.1, key="cell_sb_bi")
    biases[1].slider("forget gate bias b_f", *cell_view.SANDBOX_RANGES["cell_sb_bf"], step=0.1, key="cell_sb_bf",
                     help="A large forget bias keeps the cell state: c(t) ≈ c(t−1) + i·g.")
    biases[2].slider("candidate bias b_g", *cell_view.SANDBOX_RANGES["cell_sb_bg"], step=0.1, key="cell_sb_bg")
    biases[3].slider("output gate bias b_o", *cell_view.SANDBOX_RANGES["cell_sb_bo"], step=0.1, key="cell_sb_bo")
    step = cell_view.sandbox_from_state()
    left, right = st.columns([5, 6], gap="medium")
    with left:
        show_equations(step, 0)
    with right:
        charts.show(cell_figures.lstm_diagram(step, 0, title="One LSTM unit, set by hand",
                                              input_label=f"= {fmt(float(step.x[0]), 2)}"),
                    "cell_sandbox_diagram", name="lstm_unit_set_by_hand", in_zip=False)


try:
    if mode == "trained":
        trained_view()
    else:
        sandbox_view()
except Exception as exc:  # noqa: BLE001 - a drawing bug must not take the page down
    log.exception("drawing the inside-the-cell page failed")
    st.error(f"Could not draw this step: {type(exc).__name__}: {exc}")
