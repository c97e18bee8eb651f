"""Gradient flow lab: how much gradient reaches each step back, why it vanishes, and what changes it."""
from pathlib import Path

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from lstm_viz.analysis import jacobians
from lstm_viz.core.architectures import ARCHITECTURES
from lstm_viz.ui import gradient_lab_views as views
from lstm_viz.ui import charts, page_schemas, page_url, state

state.init_session()

TABS = page_schemas.GLAB_TABS
page = page_url.sync(page_schemas.GRADIENT_LAB)

explored = state.explored_run()
trainer = explored.trainer
config, task = trainer.config, trainer.task
steps_in_sequence = task.sequence_length(config.length)
distance = jacobians.default_distance(steps_in_sequence)
probe_steps = views.probe_steps(trainer)

# What only this run can say; the fields' validators checked the rest. The latest probe stands for LATEST.
if st.session_state["glab_step"] == page_schemas.LATEST:
    st.session_state["glab_step"] = probe_steps[-1]
page.fit("glab_step", probe_steps, probe_steps[-1])
page.fit("glab_layer", range(config.num_layers), 0)
page.fit("glab_example", range(len(trainer.trace_inputs)), 0)
page.fit("glab_clip_opt", views.CLIP_OPTIMISERS, page_schemas.GRADIENT_LAB.by_key["glab_clip_opt"].default)
page.warn()

st.title("Gradient flow lab")
if explored.source == "session":
    status = "still training, a snapshot" if state.is_running() else "finished"
    st.caption(f"The run trained in this session ({task.label}, T = {config.length}, {status}, step {trainer.step}).")
else:
    st.caption(f"The bundled run: {task.label}, T = {config.length}, hidden size {config.hidden_size}, seed "
               f"{config.seed}. Train your own on the Train page and this page shows it instead.")
if trainer.finished:
    st.caption(trainer.verdict())

with st.container(horizontal=True, vertical_alignment="bottom"):
    st.select_slider("Probe (training step)", options=probe_steps, key="glab_step", width=520,
                     help="A probe measures the gradient every few training steps; the dashed curves are step 0.")
    if config.num_layers > 1:
        st.selectbox("Layer", range(config.num_layers), key="glab_layer", format_func=lambda i: f"layer {i + 1}",
                     width=140)
    st.toggle("Relative to the last step", key="glab_relative",
              help="Divide by ‖∂L/∂h‖ at the last step, so the curves start at 1 and show only the decay.")
step, layer = st.session_state["glab_step"], st.session_state["glab_layer"]
layer_note = f", layer {layer + 1}" if config.num_layers > 1 else ""

tabs = dict(zip(TABS, st.tabs(TABS, key="glab_tab", on_change="rerun")))


with tabs["Over training"]:
    if tabs["Over training"].open:
        charts.show(views.flow_figure(trainer, step, layer, st.session_state["glab_relative"]), "glab_flow",
                    name=f"gradient_per_step_back_probe{step}", in_zip=False)
        reach = views.reach_table(trainer, step, layer, distance)
        st.dataframe(reach, hide_index=True, column_config=views.number_columns(reach))
        if st.toggle("Play through training", key="glab_play",
                     help="An animated copy of the chart above, one frame per probe, played in your browser."):
            charts.show(views.animation_figure(trainer, layer, st.session_state["glab_relative"]), "glab_animation",
                        name="gradient_per_step_back_over_training", in_zip=False)
        charts.show(views.heatmap_figure(trainer, step, layer), "glab_heatmap",
                    name="gradient_per_step_back_every_probe", in_zip=False)
        st.markdown(
            "Each curve is the figure of Arjovsky, Shah & Bengio (2016) measured on this run: the norm of the "
            "loss's gradient with respect to the hidden state d steps before the last one, averaged over "
            f"{config.probe_size} fixed probe sequences and computed exactly in float64. A straight line on this "
            "log axis is exponential decay. Move the probe slider to watch the LSTM's curve lift off as it learns "
            "to remember; the heatmap shows every probe at once (the dashed line is the probe selected)."
        )
        if (Path(__file__).parent / "length_sweep.py").exists():
            try:
                st.page_link("pages/length_sweep.py", label="How this changes with the sequence length: Length sweep",
                             icon=":material/straighten:")
            except StreamlitPageNotFoundError:  # the file exists but this app's navigation does not list it
                st.caption("How this changes with the sequence length: see the Length sweep page.")
        else:
            st.caption("How this changes with the sequence length: see the Length sweep page.")

with tabs["Why it vanishes"]:
    if tabs["Why it vanishes"].open:
        st.segmented_control("Example", range(len(trainer.trace_inputs)), key="glab_example",
                             format_func=lambda i: f"example {i + 1}", required=True)
        example = st.session_state["glab_example"]
        st.caption(views.example_caption(trainer, example))
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

with tabs["Forget-gate bias"]:
    if tabs["Forget-gate bias"].open:
        probes = views.required(views.forget_bias_probes(trainer, views.config_key(trainer)))
        charts.show(views.init_probe_figure(probes, layer, f"LSTM at initialisation: forget-gate bias 0, 1, 3{layer_note}"),
                    "glab_forget_bias", name="lstm_forget_bias_at_initialisation", in_zip=False)
        table = views.init_probe_table(probes, layer, distance, steps_in_sequence)
        st.dataframe(table, hide_index=True, column_config=views.number_columns(table))
        st.markdown(
            "The same LSTM the run started from (same seed), with a constant added to its forget-gate bias, probed "
            "once on the run's probe sequences. PyTorch's default bias gives f ≈ sigmoid(0) = 0.5, so the cell "
            "path halves the gradient every step; +1 gives f ≈ 0.73 and +3 gives f ≈ 0.95 (Gers et al. 2000; "
            "Jozefowicz et al. 2015). A larger bias lets gradient reach the start of the sequence before training "
            "begins; it does not by itself make the task solved sooner."
        )

with tabs["Clamp the forget gate"]:
    if tabs["Clamp the forget gate"].open:
        if "lstm" not in trainer.runs:
            st.info("This run has no LSTM to clamp. Train one on the Train page, or clear the session's run to see "
                    "the bundled one.")
        else:
            st.slider("Clamp fₜ to", 0.0, 1.0, step=0.05, key="glab_clamp", width=420,
                      help="Every forget gate of the trained LSTM is replaced by this constant; the other gates "
                           "keep their trained weights.")
            with st.spinner("Running the trained LSTM on the test set with each clamp…"):
                trained_step, results = views.clamp_results(trainer, st.session_state["glab_clamp"])
            rows = [{
                "forget gate": "as trained" if r.clamp is None else f"clamped to {r.clamp:g}",
                f"test {task.metric_name}": r.metric,
                f"÷ no-memory baseline ({trainer.baseline:.3g})": r.metric / trainer.baseline,
                f"gradient ratio {distance} steps back": jacobians.ratio_at_distance(r.flow.grad_norm_per_step[layer],
                                                                                    distance),
            } for r in results]
            st.dataframe(rows, hide_index=True, column_config=views.number_columns(rows))
            charts.show(views.clamp_figure(results, layer, trained_step), "glab_clamp_fig",
                        name=f"lstm_forget_gate_clamped_step{trained_step}", in_zip=False)
            st.markdown(
                f"The LSTM at its latest probe (step {trained_step}) run on the {len(trainer.test_inputs)} test "
                "sequences with every forget gate fixed to a constant c; its other gates keep their trained weights. "
                f"The cell path then multiplies a gradient, and a memory, by exactly c per step: {distance} steps "
                f"back, c = 0.5 keeps 0.5^{distance} = {0.5 ** distance:.1e} of it, c = 0.9 keeps "
                f"{0.9 ** distance:.1e}, c = 1 keeps everything, including what the trained gates had learned to "
                "forget. A trained gate can do better than any constant: it opens and closes with the input."
            )

with tabs["Recurrent weight scale"]:
    if tabs["Recurrent weight scale"].open:
        probes = views.required(views.weight_scale_probes(trainer, views.config_key(trainer)))
        charts.show(views.init_probe_figure(probes, layer, f"Tanh RNN at initialisation: W_hh scaled by 0.5 to 3{layer_note}"),
                    "glab_weight_scale", name="rnn_recurrent_weight_scale_at_initialisation", in_zip=False)
        table = views.init_probe_table(probes, layer, distance, steps_in_sequence)
        st.dataframe(table, hide_index=True, column_config=views.number_columns(table))
        st.markdown(
            "The run's RNN at initialisation (PyTorch draws W_hh uniformly in ±1/√H) with W_hh multiplied by a "
            "factor. The spectral radius ρ scales with it. Below 1 the gradient vanishes geometrically; above 1 "
            "it can grow going back in time (exploding), until tanh saturates and caps it. Near ρ = 1 is the "
            "narrow edge that identity and orthogonal initialisations aim for (Le et al. 2015; Arjovsky et al. 2016)."
        )

with tabs["Gradient clipping"]:
    if tabs["Gradient clipping"].open:
        threshold = views.clipping_threshold(trainer)
        with st.container(horizontal=True, vertical_alignment="bottom"):
            st.selectbox("Cell", list(ARCHITECTURES), key="glab_clip_arch", format_func=lambda a: ARCHITECTURES[a].label,
                         width=180)
            st.selectbox("Optimiser", list(views.CLIP_OPTIMISERS), key="glab_clip_opt",
                         format_func=lambda k: views.optimiser_label(trainer, k), width=300,
                         help="Adam rescales every gradient, so clipping changes little with it; plain SGD with a "
                              "large rate is where one exploding step ruins a run.")
            st.selectbox("Training steps", jacobians.CLIPPING_STEPS, key="glab_clip_steps", width=140)
        arch, optimiser = st.session_state["glab_clip_arch"], st.session_state["glab_clip_opt"]
        clip_steps = st.session_state["glab_clip_steps"]
        cost = views.clipping_cost(trainer, arch, optimiser, clip_steps)
        runs = views.cached_clipping(trainer, arch, optimiser, clip_steps)
        if runs is None:
            if cost > views.CLIPPING_GFLOP_BUDGET:
                st.warning(f"These two runs would need about {cost:.0f} GFLOP, more than this page's limit of "
                           f"{views.CLIPPING_GFLOP_BUDGET:.0f}: pick fewer steps, or train a smaller run.")
            elif st.session_state.pop("glab_clip_requested", False):
                bar = st.progress(0.0, text="Waiting for the server…")
                runs = views.run_clipping(trainer, arch, optimiser, clip_steps,
                                          lambda fraction, text: bar.progress(fraction, text=text))
                bar.empty()
                if runs is None:
                    st.warning("The server stopped this comparison before it finished (its time limit, or a "
                               "restart). Press the button to try again, or pick fewer steps.")
            else:
                # A callback, not `if st.button(...)`: its flag survives the rerun init_session may make.
                st.button(f"Train both: clipping at {threshold:g} and no clipping", key="glab_clip_go",
                          icon=":material/play_arrow:",
                          on_click=lambda: st.session_state.update(glab_clip_requested=True))
                st.caption(f"Two short runs of {clip_steps} steps from the run's initial weights and batches "
                           f"(about {cost:.0f} GFLOP); results are kept for everyone who asks the same.")
        if runs is not None:
            charts.show(views.clipping_figure(trainer, arch, runs, optimiser, clip_steps), "glab_clipping",
                        name=f"{arch}_gradient_clipping_{optimiser}_{clip_steps}_steps", in_zip=False)
            rows = views.clipping_table(trainer, runs)
            st.dataframe(rows, hide_index=True, column_config=views.number_columns(rows))
        st.markdown(
            "Clipping rescales the whole gradient when its norm exceeds the threshold (Pascanu, Mikolov & Bengio "
            "2013). It cures exploding gradients, one huge step that throws the weights far away, and does nothing "
            "for vanishing ones: it never makes a small gradient larger. The right chart shows the norm before "
            "clipping."
        )
