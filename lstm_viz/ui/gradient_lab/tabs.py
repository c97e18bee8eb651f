"""The tabs of the Gradient flow lab, each one function: what it measures, its chart, table and explanation.
The numbers and figures come from probes.py (measured on the run) and what_if.py (what if
its initialisation, forget gate or clipping differed)."""
from __future__ import annotations

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from lstm_viz.analysis import jacobians
from lstm_viz.analysis.memory import trace_example
from lstm_viz.core.architectures import ARCHITECTURES
from lstm_viz.core.trainer import Trainer
from lstm_viz.rules import paths
from lstm_viz.ui import charts, page_url, session_run
from lstm_viz.ui.gradient_lab import probes as views
from lstm_viz.ui.gradient_lab import what_if
from lstm_viz.ui.page_schemas import GLAB_TABS, GRADIENT_LAB
from lstm_viz.ui.session_run import ExploredRun

TABS = GLAB_TABS
LENGTH_SWEEP_PAGE = paths.PROJECT_DIR / "pages" / "length_sweep.py"


def keep_valid_settings(trainer: Trainer) -> None:
    """Settings this run cannot show fall back before the widgets exist (page_url.fit names those a link gave): its
    layers, traced examples and clipping optimisers. The probe step goes to the probe the explorer pages' rule picks
    for it (the latest at or before it), so a link naming another run's step still opens."""
    ss, config = st.session_state, trainer.config
    wanted = ss["glab_step"]
    ss["glab_step"] = views.probe_step_at(trainer, wanted if isinstance(wanted, int) else None)
    page_url.fit("glab_layer", range(config.num_layers), 0)
    page_url.fit("glab_example", range(len(trainer.trace_inputs)), 0)
    page_url.fit("glab_clip_opt", what_if.CLIP_OPTIMISERS, GRADIENT_LAB.by_key["glab_clip_opt"].default)


def run_caption(explored: ExploredRun) -> None:
    trainer, config, task = explored.trainer, explored.trainer.config, explored.trainer.task
    if explored.source == "session":
        status = "still training, a snapshot" if session_run.is_running() else "finished"
        st.caption(f"The run trained in this session ({task.label}, T = {config.length}, {status}, step {trainer.step}).")
    else:
        st.caption(f"The bundled run: {task.label}, T = {config.length}, hidden size {config.hidden_size}, seed "
                   f"{config.seed}. Train your own on the Train page and this page shows it instead.")
    if trainer.finished:
        st.caption(trainer.verdict())


def probe_controls(trainer: Trainer) -> tuple[int, int]:
    """The probe slider, the layer and the relative toggle above the tabs; (probe step, layer)."""
    config = trainer.config
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.select_slider("Probe (training step)", options=views.probe_steps(trainer), key="glab_step", width=520,
                         help="A probe measures the gradient every few training steps; the dashed curves are step 0.")
        if config.num_layers > 1:
            st.selectbox("Layer", range(config.num_layers), key="glab_layer", format_func=lambda i: f"layer {i + 1}",
                         width=140)
        st.toggle("Relative to the last step", key="glab_relative",
                  help="Divide by ‖∂L/∂h‖ at the last step, so the curves start at 1 and show only the decay.")
    return st.session_state["glab_step"], st.session_state["glab_layer"]


def length_sweep_link() -> None:
    text = "How this changes with the sequence length: Length sweep"
    if LENGTH_SWEEP_PAGE.exists():
        try:
            st.page_link("pages/length_sweep.py", label=text, icon=":material/straighten:")
            return
        except StreamlitPageNotFoundError:  # the file exists but this app's navigation does not list it
            pass
    st.caption("How this changes with the sequence length: see the Length sweep page.")


def over_training_tab(trainer: Trainer, step: int, layer: int, distance: int) -> None:
    relative = st.session_state["glab_relative"]
    charts.show(views.flow_figure(trainer, step, layer, relative), "glab_flow",
                name=f"gradient_per_step_back_probe{step}", in_zip=False)
    reach = views.reach_table(trainer, step, layer, distance)
    st.dataframe(reach, hide_index=True, column_config=views.number_columns(reach))
    if st.toggle("Play through training", key="glab_play",
                 help="An animated copy of the chart above, one frame per probe, played in your browser."):
        charts.show(views.animation_figure(trainer, layer, relative), "glab_animation",
                    name="gradient_per_step_back_over_training", in_zip=False)
    charts.show(views.heatmap_figure(trainer, step, layer), "glab_heatmap",
                name="gradient_per_step_back_every_probe", in_zip=False)
    st.markdown(
        "Each curve is the figure of Arjovsky, Shah & Bengio (2016) measured on this run: the norm of the "
        "loss's gradient with respect to the hidden state d steps before the last one, averaged over "
        f"{trainer.config.probe_size} fixed probe sequences and computed exactly in float64. A straight line on this "
        "log axis is exponential decay. Move the probe slider to watch the LSTM's curve lift off as it learns "
        "to remember; the heatmap shows every probe at once (the dashed line is the probe selected)."
    )
    if "transformer" in trainer.runs:
        st.caption("Transformer: its hₜ is the residual stream its block reads at position t (the stream attention "
                   "carries to every later position). No state is passed from step to step, so the gradient reaches "
                   "position t in one attention hop whatever the distance: no product over steps to vanish. So its "
                   "curve does not slope with distance; once trained it is spiky instead, because the gradient goes "
                   "where attention looks (on the adding problem: the marked steps) and almost none reaches the "
                   "positions it ignores, however near.")
    length_sweep_link()


def transformer_note(trainer: Trainer) -> None:
    """One line on the recurrence-only tabs for a run with a Transformer: why it is not in them."""
    if "transformer" in trainer.runs:
        st.caption("The Transformer is left out here: it has no recurrent weights, no forget gate and no "
                   "step-to-step Jacobian; its gradient per position is on the Over training tab.")


def why_tab(trainer: Trainer, step: int, layer: int, distance: int) -> None:
    st.segmented_control("Example", range(len(trainer.trace_inputs)), key="glab_example",
                         format_func=lambda i: f"example {i + 1}", required=True)
    example = st.session_state["glab_example"]
    st.caption(trace_example(trainer, example).description)
    transformer_note(trainer)
    left, right = st.columns(2)
    with left:
        rnn = views.why_rnn(trainer, step, layer, example)
        charts.show(rnn.figure, "glab_rnn_jacobians", name=f"rnn_jacobian_norms_example{example + 1}", in_zip=False)
        if not rnn.trained:
            st.info("This run has no RNN: these are the numbers of the RNN it would have started from.")
        st.markdown(views.rnn_explanation(rnn.jacobians, distance))
    with right:
        lstm = views.why_lstm(trainer, step, layer, example)
        charts.show(lstm.figure, "glab_forget_path", name=f"lstm_forget_gate_path_example{example + 1}", in_zip=False)
        if not lstm.trained:
            st.info("This run has no LSTM: these are the numbers of the LSTM it would have started from.")
        st.markdown(views.lstm_explanation(lstm, distance))


INIT_TAB_TEXT = {
    "forget-bias": (
        "LSTM at initialisation: forget-gate bias 0, 1, 3", "glab_forget_bias", "lstm_forget_bias_at_initialisation",
        "The same LSTM the run started from (same seed), with a constant added to its forget-gate bias, probed "
        "once on the run's probe sequences. PyTorch's default bias gives f ≈ sigmoid(0) = 0.5, so the cell "
        "path halves the gradient every step; +1 gives f ≈ 0.73 and +3 gives f ≈ 0.95 (Gers et al. 2000; "
        "Jozefowicz et al. 2015). A larger bias lets gradient reach the start of the sequence before training "
        "begins; it does not by itself make the task solved sooner."),
    "weight-scale": (
        "Tanh RNN at initialisation: W_hh scaled by 0.5 to 3", "glab_weight_scale",
        "rnn_recurrent_weight_scale_at_initialisation",
        "The run's RNN at initialisation (PyTorch draws W_hh uniformly in ±1/√H) with W_hh multiplied by a "
        "factor. The spectral radius ρ scales with it. Below 1 the gradient vanishes geometrically; above 1 "
        "it can grow going back in time (exploding), until tanh saturates and caps it. Near ρ = 1 is the "
        "narrow edge that identity and orthogonal initialisations aim for (Le et al. 2015; Arjovsky et al. 2016)."),
}


def init_probe_tab(trainer: Trainer, knob: str, layer: int, distance: int) -> None:
    """The "Forget-gate bias" and "Recurrent weight scale" tabs: one knob of the initial model, its values probed
    once; they differ only in the knob (what_if.INIT_KNOBS) and their words (INIT_TAB_TEXT)."""
    title, chart_key, name, text = INIT_TAB_TEXT[knob]
    transformer_note(trainer)
    layer_note = f", layer {layer + 1}" if trainer.config.num_layers > 1 else ""
    probes = what_if.required(what_if.init_probes(trainer, trainer.config.key(), knob))
    charts.show(what_if.init_probe_figure(probes, layer, title + layer_note), chart_key, name=name, in_zip=False)
    steps_in_sequence = trainer.task.sequence_length(trainer.config.length)
    table = what_if.init_probe_table(probes, layer, distance, steps_in_sequence)
    st.dataframe(table, hide_index=True, column_config=views.number_columns(table))
    st.markdown(text)


def clamp_tab(trainer: Trainer, layer: int, distance: int) -> None:
    transformer_note(trainer)
    if "lstm" not in trainer.runs:
        st.info("This run has no LSTM to clamp. Train one on the Train page, or clear the session's run to see "
                "the bundled one.")
        return
    st.slider("Clamp fₜ to", 0.0, 1.0, step=0.05, key="glab_clamp", width=420,
              help="Every forget gate of the trained LSTM is replaced by this constant; the other gates "
                   "keep their trained weights.")
    with st.spinner("Running the trained LSTM on the test set with each clamp…"):
        trained_step, results = what_if.clamp_results(trainer, st.session_state["glab_clamp"])
    rows = what_if.clamp_table(trainer, results, layer, distance)
    st.dataframe(rows, hide_index=True, column_config=views.number_columns(rows))
    charts.show(what_if.clamp_figure(results, layer, trained_step), "glab_clamp_fig",
                name=f"lstm_forget_gate_clamped_step{trained_step}", in_zip=False)
    st.markdown(
        f"The LSTM at its latest probe (step {trained_step}) run on the {len(trainer.test_inputs)} test "
        "sequences with every forget gate fixed to a constant c; its other gates keep their trained weights. "
        f"The cell path then multiplies a gradient, and a memory, by exactly c per step: {distance} steps "
        f"back, c = 0.5 keeps 0.5^{distance} = {0.5 ** distance:.1e} of it, c = 0.9 keeps "
        f"{0.9 ** distance:.1e}, c = 1 keeps everything, including what the trained gates had learned to "
        "forget. A trained gate can do better than any constant: it opens and closes with the input."
    )


def clipping_settings(trainer: Trainer) -> tuple[str, str, int]:
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.selectbox("Cell", list(ARCHITECTURES), key="glab_clip_arch", format_func=lambda a: ARCHITECTURES[a].label,
                     width=180)
        st.selectbox("Optimiser", list(what_if.CLIP_OPTIMISERS), key="glab_clip_opt",
                     format_func=lambda k: what_if.optimiser_label(trainer, k), width=300,
                     help="Adam rescales every gradient, so clipping changes little with it; plain SGD with a "
                          "large rate is where one exploding step ruins a run.")
        st.selectbox("Training steps", jacobians.CLIPPING_STEPS, key="glab_clip_steps", width=140)
    ss = st.session_state
    return ss["glab_clip_arch"], ss["glab_clip_opt"], ss["glab_clip_steps"]


def clipping_runs(trainer: Trainer, arch: str, optimiser: str, clip_steps: int):
    """The two runs (clipping on, off) if computed; else the button that asks for them, or why it cannot."""
    cost = what_if.clipping_cost(trainer, arch, optimiser, clip_steps)
    runs = what_if.cached_clipping(trainer, arch, optimiser, clip_steps)
    if runs is not None:
        return runs
    if cost > what_if.CLIPPING_GFLOP_BUDGET:
        st.warning(f"These two runs would need about {cost:.0f} GFLOP, more than this page's limit of "
                   f"{what_if.CLIPPING_GFLOP_BUDGET:.0f}: pick fewer steps, or train a smaller run.")
    elif st.session_state.pop("glab_clip_requested", False):
        bar = st.progress(0.0, text="Waiting for the server…")
        runs = what_if.run_clipping(trainer, arch, optimiser, clip_steps,
                                    lambda fraction, text: bar.progress(fraction, text=text))
        bar.empty()
        if runs is None:
            st.warning("The server stopped this comparison before it finished (its time limit, or a "
                       "restart). Press the button to try again, or pick fewer steps.")
    else:
        # A callback, not `if st.button(...)`: its flag survives the rerun init_session may make.
        st.button(f"Train both: clipping at {what_if.clipping_threshold(trainer):g} and no clipping",
                  key="glab_clip_go", icon=":material/play_arrow:",
                  on_click=lambda: st.session_state.update(glab_clip_requested=True))
        st.caption(f"Two short runs of {clip_steps} steps from the run's initial weights and batches "
                   f"(about {cost:.0f} GFLOP); results are kept for everyone who asks the same.")
    return runs


def clipping_tab(trainer: Trainer) -> None:
    arch, optimiser, clip_steps = clipping_settings(trainer)
    runs = clipping_runs(trainer, arch, optimiser, clip_steps)
    if runs is not None:
        charts.show(what_if.clipping_figure(trainer, arch, runs, optimiser, clip_steps), "glab_clipping",
                    name=f"{arch}_gradient_clipping_{optimiser}_{clip_steps}_steps", in_zip=False)
        rows = what_if.clipping_table(trainer, runs)
        st.dataframe(rows, hide_index=True, column_config=views.number_columns(rows))
    st.markdown(
        "Clipping rescales the whole gradient when its norm exceeds the threshold (Pascanu, Mikolov & Bengio "
        "2013). It cures exploding gradients, one huge step that throws the weights far away, and does nothing "
        "for vanishing ones: it never makes a small gradient larger. The right chart shows the norm before "
        "clipping."
    )


def draw_tabs(trainer: Trainer, step: int, layer: int) -> None:
    """The six tabs; only the open one is computed."""
    distance = jacobians.default_distance(trainer.task.sequence_length(trainer.config.length))
    tabs = dict(zip(TABS, st.tabs(TABS, key="glab_tab", on_change="rerun")))
    bodies = {
        "Over training": lambda: over_training_tab(trainer, step, layer, distance),
        "Why it vanishes": lambda: why_tab(trainer, step, layer, distance),
        "Forget-gate bias": lambda: init_probe_tab(trainer, "forget-bias", layer, distance),
        "Clamp the forget gate": lambda: clamp_tab(trainer, layer, distance),
        "Recurrent weight scale": lambda: init_probe_tab(trainer, "weight-scale", layer, distance),
        "Gradient clipping": lambda: clipping_tab(trainer),
    }
    for name, tab in tabs.items():
        with tab:
            if tab.open:
                bodies[name]()
