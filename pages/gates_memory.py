import streamlit as st

from lstm_viz.analysis import memory
from lstm_viz.figures import memory as memory_figures
from lstm_viz.rules.errors import LstmVizError
from lstm_viz.figures.training import TRACE_LABELS
from lstm_viz.ui import charts, memory_view, page_schemas, page_url, state
from lstm_viz.ui.plain import plain

state.init_session()

LATEST = page_schemas.LATEST
TRAJECTORY_UNITS = 6
SEARCH_UNITS = 6
PICKS, SEARCHES = page_schemas.GM_PICKS, page_schemas.GM_SEARCHES
page = page_url.sync(page_schemas.GATES_MEMORY)
ss = st.session_state


def keep_in(key: str, options: list, fallback) -> None:
    """A value this run does not offer falls back before the widget exists (named in the warning if a link gave it)."""
    page.fit(key, options, fallback)


explored = state.explored_run()
trainer = explored.trainer
task = trainer.task

st.title("Gates and memory")
if explored.source == "bundled":
    st.caption(f"Showing the bundled run ({task.label}, T = {trainer.config.length}, hidden size "
               f"{trainer.config.hidden_size}). Train a run on the Train page to explore your own.")
else:
    st.caption(f"Showing this session's run ({task.label}, T = {trainer.config.length}), "
               + ("still training, at step " if state.is_running() else "trained for ") + f"{trainer.step:,} steps.")
page.warn()

# ----- what to look at -----
archs = list(trainer.runs)
keep_in("gm_arch", archs, "lstm" if "lstm" in archs else archs[0])
columns = st.columns([1, 2, 1, 2])
columns[0].selectbox("Architecture", archs, key="gm_arch", format_func=lambda a: trainer.runs[a].label)
arch = ss["gm_arch"]
run = trainer.runs[arch]
steps = [c.step for c in run.checkpoints]
step_options = steps[:-1] + [LATEST]
if ss.get("gm_step") == steps[-1]:
    ss["gm_step"] = LATEST
keep_in("gm_step", step_options, LATEST)
if len(step_options) > 1:
    columns[1].select_slider(
        "Checkpoint (training step)", step_options, key="gm_step",
        format_func=lambda s: f"{steps[-1]} (latest)" if s == LATEST else str(s),
        help="The weights saved at this training step; the latest is the default.")
else:
    columns[1].markdown(f"Checkpoint: step {steps[-1]} (the only one)")
checkpoint = run.checkpoints[-1] if ss["gm_step"] == LATEST else run.checkpoints[steps.index(ss["gm_step"])]
if steps[-1] < trainer.step and not state.is_running():
    # e.g. the LSTM solved at 700 while the RNN trained on to 1500: its latest checkpoint is not the run's last step
    columns[1].caption(f"{run.label} stopped at step {steps[-1]:,} ({run.status}); the run went on to step "
                       f"{trainer.step:,}.")
layers = list(range(trainer.config.num_layers))
keep_in("gm_layer", layers, 0)
columns[2].selectbox("Layer", layers, key="gm_layer", format_func=lambda l: f"layer {l + 1}",
                     disabled=len(layers) == 1)
layer = ss["gm_layer"]
keep_in("gm_order", list(memory.ORDERINGS), "clustered")
columns[3].selectbox("Unit order", list(memory.ORDERINGS), key="gm_order", format_func=memory.ORDERINGS.get,
                     help="One order for every heatmap. Clustered: average-linkage clustering on the correlation "
                          "of the units' gate and state traces on this example. Peak time: the step of the largest "
                          "|cell state|. Forget-gate mean: highest first (GRU: update gate; RNN: index order).")

probe_count = len(trainer.trace_inputs)
# Short labels: one line each in the narrow column, in presenter mode too.
sources = {"test": "a test-set example", "probe": f"a probe (#1–#{probe_count}, as on Train)"}
if task.accepts_text:
    sources["text"] = "text I type"
keep_in("gm_source", list(sources), "test")
left, right = st.columns([1, 3])
left.radio("Example", list(sources), key="gm_source", format_func=sources.get, horizontal=False)
test_count = len(trainer.test_inputs)
if not 1 <= ss.get("gm_example", 1) <= test_count:
    ss["gm_example"] = 1
example = None
if ss["gm_source"] == "text":
    right.text_input("Your input", key="gm_text", placeholder="type a sequence for the task", max_chars=page_schemas.TEXT_LIMITS["gm_text"])
    if ss["gm_text"].strip():
        try:
            example = memory.text_example(task, ss["gm_text"])
        except LstmVizError as error:
            right.error(f"Could not use this text: {error}")
    else:
        right.info("Type an input above; meanwhile the first test example is shown.")
elif ss["gm_source"] == "probe":
    keep_in("gm_probe", list(range(1, probe_count + 1)), 1)
    right.segmented_control("Probe sequence", list(range(1, probe_count + 1)), key="gm_probe",
                            format_func=lambda i: f"#{i}", help="The sequences traced at every checkpoint.")
    example = memory.trace_example(trainer, (ss["gm_probe"] or 1) - 1)
else:
    right.number_input(f"Test example (1 to {test_count})", min_value=1, max_value=test_count, step=1,
                       key="gm_example")
if example is None:
    example = memory.test_example(trainer, ss["gm_example"] - 1 if ss["gm_source"] == "test" else 0)
if example.description:
    right.caption(plain(example.description))
channels = task.input_channels(example.inputs)

# ----- heatmaps -----
arrays = memory_view.example_arrays(explored, arch, checkpoint, example, layer)
layer_note = f", layer {layer + 1}" if len(layers) > 1 else ""


def heatmaps(arch_shown: str, shown_checkpoint, shown_arrays: dict, height_per_panel: int | None):
    def build():
        return memory_figures.ordered_heatmaps(
            shown_arrays, memory.unit_order(ss["gm_order"], shown_arrays), channels, tokens=example.tokens,
            unknown=example.unknown, title=f"{trainer.runs[arch_shown].label} at step {shown_checkpoint.step}{layer_note}",
            order_label=memory.ORDERINGS[ss["gm_order"]], height_per_panel=height_per_panel,
        )

    key = ("heatmaps", arch_shown, shown_checkpoint.step, memory_view.example_key(example), layer, ss["gm_order"],
           height_per_panel)
    return memory_view.memo_figure(explored, key, build)


charts.show(heatmaps(arch, checkpoint, arrays, None), "gm_heatmaps",
            name=f"{arch}_gates_and_states_step{checkpoint.step}", in_zip=False)
if ss["gm_order"] == "forget" and memory.keep_gate_name(arrays) is None:
    st.caption(f"The {run.label} has no forget gate: its units are shown in index order.")

# ----- neuron search settings (the trajectories use the feature too) -----
state_names = [n for n in ("cell_state", "hidden_state") if n in arrays]
keep_in("gm_state", state_names, state_names[0])
features = task.features(example.inputs)
feature_names = list(features)
hidden = next(iter(arrays.values())).shape[-1]
search_state = ss["gm_state"]
symbol = "cₜ" if search_state == "cell_state" else "hₜ"

st.subheader("Cell-state trajectories and saturation")
left, right = st.columns(2)
with left:
    picks = {k: v for k, v in PICKS.items() if k != "feature" or feature_names}
    keep_in("gm_pick", list(picks), "active")
    st.radio("Units", list(picks), key="gm_pick", format_func=picks.get, horizontal=True)
    ss["gm_units"] = [int(u) for u in ss.get("gm_units", []) if str(u).lstrip("-").isdigit() and 0 <= int(u) < hidden]
    if ss["gm_pick"] == "hand":
        st.multiselect("Pick units", list(range(hidden)), key="gm_units", max_selections=12,
                       format_func=lambda u: f"unit {u}")
        units = ss["gm_units"]
    elif ss["gm_pick"] == "feature":
        keep_in("gm_feature", feature_names, feature_names[0])
        try:
            scores = memory.feature_correlations(memory_view.probe_arrays(explored, arch, checkpoint, layer)[search_state],
                                                 memory_view.probe_feature(explored, ss["gm_feature"]))
            units = memory.top_units(scores, TRAJECTORY_UNITS).tolist()
        except LstmVizError as error:
            st.warning(str(error))
            units = []
        st.caption(f"Feature: {ss['gm_feature']} (change it in the neuron search below).")
    else:
        units = memory.most_active_units(arrays[search_state], TRAJECTORY_UNITS).tolist()
    if units:
        what = TRACE_LABELS[search_state].split(" ")[0:2]
        charts.show(memory_figures.unit_trajectories(
            arrays[search_state], units, channels, tokens=example.tokens, unknown=example.unknown,
            title=f"{run.label} {' '.join(what)}, units {PICKS[ss['gm_pick']]}", value_label=symbol,
            feature=(ss["gm_feature"], features[ss["gm_feature"]]) if ss["gm_pick"] == "feature" else None,
        ), "gm_trajectories", name=f"{arch}_{search_state}_trajectories_step{checkpoint.step}", in_zip=False)
    else:
        st.info("Pick one or more units to draw their trajectories.")
with right:
    if run.model.architecture.gate_names:
        history = memory_view.saturation(explored, arch, layer)
        charts.show(memory_figures.saturation_over_training(
            history.steps, history.gates, history.low, history.high, current_step=checkpoint.step,
            title=f"{run.label} gate saturation over training{layer_note}",
        ), "gm_saturation", name=f"{arch}_gate_saturation_over_training", in_zip=False)
        st.caption(f"Fraction of each gate's values above {memory.HIGH_SATURATION} (solid) and below "
                   f"{memory.LOW_SATURATION} (dashed) on the {len(trainer.probe_inputs)} probe sequences, "
                   "at every checkpoint. A saturated gate is a switch: fully open or shut.")
    else:
        st.info(f"The {run.label} has no gates to saturate; pick the LSTM or GRU to see gate saturation.")

# ----- neuron search -----
st.subheader("Neuron search")
st.caption("As in LSTMVis: say what a unit should track, and the units are ranked by how well they do.")
columns = st.columns([1, 1, 2])
searches = {k: v for k, v in SEARCHES.items() if k != "feature" or feature_names}
keep_in("gm_search", list(searches), list(searches)[0])
columns[0].radio("Search by", list(searches), key="gm_search", format_func=searches.get)
columns[1].selectbox("State", state_names, key="gm_state", format_func=lambda n: TRACE_LABELS[n])
steps_total = example.inputs.shape[0]
span = threshold = None
try:
    if ss["gm_search"] == "feature":
        keep_in("gm_feature", feature_names, feature_names[0])
        columns[2].selectbox("Task feature", feature_names, key="gm_feature",
                             help="Per-step quantities the task defines; units are ranked by |Pearson r| with the "
                                  f"feature over all steps of the {len(trainer.probe_inputs)} probe sequences.")
        probe = memory_view.probe_arrays(explored, arch, checkpoint, layer)
        scores = memory.feature_correlations(probe[search_state], memory_view.probe_feature(explored, ss["gm_feature"]))
        score_label = "Pearson r"
        feature = (ss["gm_feature"], features[ss["gm_feature"]])
        about = f"correlation with “{ss['gm_feature']}” over the probe sequences"
    else:
        start, end = ss["gm_span_start"], ss["gm_span_end"]
        if not (0 <= start <= end < steps_total) or end - start + 1 >= steps_total:
            start, end = steps_total // 3, min(steps_total - 2, 2 * steps_total // 3)
        ss["gm_span"] = (start, end)

        def on_span_change() -> None:
            ss["gm_span_start"], ss["gm_span_end"] = (int(v) for v in ss["gm_span"])

        with columns[2]:
            st.slider("Span of this example (time steps)", 0, steps_total - 1, key="gm_span", on_change=on_span_change)
            inner = st.columns(2)
            keep_in("gm_span_method", list(memory.SPAN_METHODS), "contrast")
            inner[0].selectbox("Score", list(memory.SPAN_METHODS), key="gm_span_method",
                               format_func=memory.SPAN_METHODS.get)
            if ss["gm_span_method"] == "match":
                inner[1].number_input("“On” above", min_value=memory_view.THRESHOLD_RANGE[0], max_value=memory_view.THRESHOLD_RANGE[1], step=0.05, key="gm_threshold",
                                      help="A unit is on where its value exceeds this (or lies below minus this).")
        start, end = (int(v) for v in ss["gm_span"])
        ss["gm_span_start"], ss["gm_span_end"] = start, end
        span = (start, end)
        if ss["gm_span_method"] == "match":
            threshold = float(ss["gm_threshold"])
            scores = memory.span_match(arrays[search_state], start, end, threshold)
            score_label = "match (signed Jaccard)"
        else:
            scores = memory.span_contrast(arrays[search_state], start, end)
            score_label = f"mean {symbol} inside − outside"
        feature = None
        about = f"{memory.SPAN_METHODS[ss['gm_span_method']]} for steps {start}–{end} of this example"
    top = memory.top_units(scores, SEARCH_UNITS)
    left, right = st.columns([2, 3])
    with left:
        charts.show(memory_figures.unit_scores(
            scores, top, title=f"Best {len(top)} of {hidden} units: {score_label}", score_label=score_label,
        ), "gm_scores", name=f"{arch}_neuron_search_scores_step{checkpoint.step}", in_zip=False)
    left.caption(f"Ranked by |{score_label}|, {about}. Best: unit {int(top[0])}, {score_label} = "
                 f"{float(scores[top[0]]):.3f}.")
    with right:
        charts.show(memory_figures.unit_trajectories(
            arrays[search_state], top, channels, tokens=example.tokens, unknown=example.unknown, feature=feature,
            span=span, threshold=threshold, title=f"The best units on this example ({TRACE_LABELS[search_state]})",
            value_label=symbol,
        ), "gm_search_traces", name=f"{arch}_neuron_search_best_units_step{checkpoint.step}", in_zip=False)
except LstmVizError as error:
    st.warning(str(error))

# ----- the other cells on the same example -----
others = [a for a in archs if a != arch]
if others:
    st.subheader("The same example in the other cells")
    st.toggle("Show the other cells", key="gm_compare")
    if ss["gm_compare"]:
        columns = st.columns(len(others))
        for column, other in zip(columns, others):
            other_run = trainer.runs[other]
            # Runs stop at different steps: the other cell's checkpoint nearest the one shown.
            other_checkpoint = min(other_run.checkpoints, key=lambda c: (abs(c.step - checkpoint.step), -c.step))
            other_arrays = memory_view.example_arrays(explored, other, other_checkpoint, example, layer)
            with column:
                charts.show(heatmaps(other, other_checkpoint, other_arrays, 130), f"gm_compare_{other}",
                            name=f"{other}_gates_and_states_step{other_checkpoint.step}", in_zip=False)
