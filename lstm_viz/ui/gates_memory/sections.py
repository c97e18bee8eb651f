"""The sections of the "Gates and memory" page, top to bottom: what to look at (architecture, checkpoint, layer, unit
order, example), the heatmaps, the trajectories and saturation, the neuron search, the other cells. The numbers come
from lstm_viz.analysis.memory, the figures from lstm_viz.figures.memory, the view and its memos from
lstm_viz.ui.gates_memory.traces."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from lstm_viz.analysis import memory
from lstm_viz.analysis.attention_step import check_fits_positions
from lstm_viz.analysis.checkpoints import LATEST, checkpoint_at, step_setting
from lstm_viz.figures import memory as memory_figures
from lstm_viz.figures.style import TRACE_LABELS
from lstm_viz.rules.errors import LstmVizError
from lstm_viz.ui import charts, page_schemas, page_url, session_run
from lstm_viz.ui.gates_memory import traces as memory_traces, settings as memory_view
from lstm_viz.ui.gates_memory.traces import MemoryView
from lstm_viz.ui.gates_memory.settings import PICKS, SEARCH_UNITS, SEARCHES, TRAJECTORY_UNITS
from lstm_viz.ui.plain import plain
from lstm_viz.ui.session_run import ExploredRun

ORDER_HELP = ("One order for every heatmap. Clustered: average-linkage clustering on the correlation of the units' "
              "gate and state traces on this example. Peak time: the step of the largest |cell state|. Forget-gate "
              "mean: highest first (GRU: update gate; RNN: index order).")


def pick_checkpoint(explored: ExploredRun, column) -> tuple[str, object]:
    """The architecture (its own selectbox is drawn by the caller) and its checkpoint for the page's step setting:
    the latest at or before it (lstm_viz.analysis.checkpoints), as on every explorer page."""
    ss, trainer = st.session_state, explored.trainer
    run = trainer.runs[ss["gm_arch"]]
    steps = [c.step for c in run.checkpoints]
    wanted = ss.get("gm_step")
    ss["gm_step"] = step_setting(run.checkpoints, wanted if isinstance(wanted, int) else LATEST)
    if len(steps) > 1:
        column.select_slider(
            "Checkpoint (training step)", steps[:-1] + [LATEST], key="gm_step",
            format_func=lambda s: f"{steps[-1]} (latest)" if s == LATEST else str(s),
            help="The weights saved at this training step; the latest is the default.")
    else:
        column.markdown(f"Checkpoint: step {steps[-1]} (the only one)")
    if steps[-1] < trainer.step and not session_run.is_running():
        # e.g. the LSTM solved at 700 while the RNN trained on to 1500: its latest checkpoint is not the run's last step
        column.caption(f"{run.label} stopped at step {steps[-1]:,} ({run.status}); the run went on to step "
                       f"{trainer.step:,}.")
    return ss["gm_arch"], checkpoint_at(run.checkpoints, ss["gm_step"])


def pick_example(explored: ExploredRun) -> memory.Example:
    """A test-set example, a probe sequence, or a typed text (tasks that accept one)."""
    ss, trainer, task = st.session_state, explored.trainer, explored.trainer.task
    probe_count, test_count = len(trainer.trace_inputs), len(trainer.test_inputs)
    # Short labels: one line each in the narrow column, in presenter mode too.
    sources = {"test": "a test-set example", "probe": f"a probe (#1–#{probe_count}, as on Train)"}
    if task.accepts_text:
        sources["text"] = "text I type"
    page_url.fit("gm_source", list(sources), "test")
    left, right = st.columns([1, 3])
    left.radio("Example", list(sources), key="gm_source", format_func=sources.get, horizontal=False)
    if not 1 <= ss.get("gm_example", 1) <= test_count:
        ss["gm_example"] = 1
    example = None
    if ss["gm_source"] == "text":
        right.text_input("Your input", key="gm_text", placeholder="type a sequence for the task",
                         max_chars=page_schemas.TEXT_LIMITS["gm_text"])
        if ss["gm_text"].strip():
            try:
                example = memory.text_example(task, ss["gm_text"])
            except LstmVizError as error:
                right.error(f"Could not use this text: {error}")
        else:
            right.info("Type an input above; meanwhile the first test example is shown.")
    elif ss["gm_source"] == "probe":
        page_url.fit("gm_probe", list(range(1, probe_count + 1)), 1)
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
    return example


def pick_view(explored: ExploredRun) -> MemoryView:
    """The controls at the top of the page, and the view they choose."""
    ss, trainer = st.session_state, explored.trainer
    archs = list(trainer.runs)
    page_url.fit("gm_arch", archs, "lstm" if "lstm" in archs else archs[0])
    columns = st.columns([1, 2, 1, 2])
    columns[0].selectbox("Architecture", archs, key="gm_arch", format_func=lambda a: trainer.runs[a].label)
    arch, checkpoint = pick_checkpoint(explored, columns[1])
    layers = list(range(trainer.config.num_layers))
    page_url.fit("gm_layer", layers, 0)
    columns[2].selectbox("Layer", layers, key="gm_layer", format_func=lambda l: f"layer {l + 1}",
                         disabled=len(layers) == 1)
    page_url.fit("gm_order", list(memory.ORDERINGS), "clustered")
    columns[3].selectbox("Unit order", list(memory.ORDERINGS), key="gm_order", format_func=memory.ORDERINGS.get,
                         help=ORDER_HELP)
    example = pick_example(explored)
    try:
        check_fits_positions(trainer.runs[arch].model, len(example.inputs), "your input")
    except LstmVizError as error:
        st.error(f"Could not use this text: {error}. The first test example is shown instead.")
        example = memory.test_example(trainer, 0)
    layer = ss["gm_layer"]
    arrays = memory_traces.example_arrays(explored, arch, checkpoint, example, layer)
    return MemoryView(explored, arch, checkpoint, layer, example, arrays)


def heatmaps(view: MemoryView) -> None:
    charts.show(view.heatmaps(view.arch, view.checkpoint, view.arrays, None), "gm_heatmaps",
                name=f"{view.arch}_gates_and_states_step{view.checkpoint.step}", in_zip=False)
    if st.session_state["gm_order"] == "forget" and memory.keep_gate_name(view.arrays) is None:
        st.caption(f"The {view.run.label} has no forget gate: its units are shown in index order.")


def search_state(view: MemoryView) -> tuple[str, str]:
    """The state the trajectories and the neuron search read (cell or hidden), and its symbol."""
    page_url.fit("gm_state", state_names(view), state_names(view)[0])
    name = st.session_state["gm_state"]
    return name, "cₜ" if name == "cell_state" else "hₜ"


def state_names(view: MemoryView) -> list[str]:
    return [n for n in ("cell_state", "hidden_state") if n in view.arrays]


def feature_names(view: MemoryView) -> list[str]:
    return list(view.trainer.task.features(view.example.inputs))


def hidden_size(view: MemoryView) -> int:
    return next(iter(view.arrays.values())).shape[-1]


def trajectory_units(view: MemoryView, name: str) -> list[int]:
    """The units the trajectories show: the most active, the most correlated with the feature, or picked by hand."""
    ss, features = st.session_state, feature_names(view)
    picks = {k: v for k, v in PICKS.items() if k != "feature" or features}
    page_url.fit("gm_pick", list(picks), "active")
    st.radio("Units", list(picks), key="gm_pick", format_func=picks.get, horizontal=True)
    hidden = hidden_size(view)
    ss["gm_units"] = [int(u) for u in ss.get("gm_units", []) if str(u).lstrip("-").isdigit() and 0 <= int(u) < hidden]
    if ss["gm_pick"] == "hand":
        st.multiselect("Pick units", list(range(hidden)), key="gm_units", max_selections=12,
                       format_func=lambda u: f"unit {u}")
        return ss["gm_units"]
    if ss["gm_pick"] == "feature":
        page_url.fit("gm_feature", features, features[0])
        try:
            units = memory.top_units(memory_traces.feature_scores(view, name, ss["gm_feature"]), TRAJECTORY_UNITS).tolist()
        except LstmVizError as error:
            st.warning(str(error))
            units = []
        st.caption(f"Feature: {ss['gm_feature']} (change it in the neuron search below).")
        return units
    return memory.most_active_units(view.arrays[name], TRAJECTORY_UNITS).tolist()


def trajectories(view: MemoryView) -> None:
    ss, example = st.session_state, view.example
    name, symbol = search_state(view)
    units = trajectory_units(view, name)
    if not units:
        st.info("Pick one or more units to draw their trajectories.")
        return
    features = view.trainer.task.features(example.inputs)
    what = " ".join(TRACE_LABELS[name].split(" ")[0:2])
    charts.show(memory_figures.unit_trajectories(
        view.arrays[name], units, view.channels, tokens=example.tokens, unknown=example.unknown,
        title=f"{view.run.label} {what}, units {PICKS[ss['gm_pick']]}", value_label=symbol,
        feature=(ss["gm_feature"], features[ss["gm_feature"]]) if ss["gm_pick"] == "feature" else None,
    ), "gm_trajectories", name=f"{view.arch}_{name}_trajectories_step{view.checkpoint.step}", in_zip=False)


def saturation(view: MemoryView) -> None:
    run = view.run
    if not run.model.architecture.gate_names:
        st.info(f"The {run.label} has no gates to saturate; pick the LSTM or GRU to see gate saturation.")
        return
    history = memory_traces.saturation(view.explored, view.arch, view.layer)
    charts.show(memory_figures.saturation_over_training(
        history.steps, history.gates, history.low, history.high, current_step=view.checkpoint.step,
        title=f"{run.label} gate saturation over training{view.layer_note}",
    ), "gm_saturation", name=f"{view.arch}_gate_saturation_over_training", in_zip=False)
    st.caption(f"Fraction of each gate's values above {memory.HIGH_SATURATION} (solid) and below "
               f"{memory.LOW_SATURATION} (dashed) on the {len(view.trainer.probe_inputs)} probe sequences, "
               "at every checkpoint. A saturated gate is a switch: fully open or shut.")


def trajectories_and_saturation(view: MemoryView) -> None:
    st.subheader("Cell-state trajectories and saturation" if view.run.model.architecture.recurrent
                 else "Residual-stream trajectories")
    left, right = st.columns(2)
    with left:
        trajectories(view)
    with right:
        saturation(view)


def other_cells(view: MemoryView) -> None:
    """The same example in the other architectures, each at its checkpoint for the step shown."""
    trainer = view.trainer
    others = [a for a in trainer.runs if a != view.arch]
    if not others:
        return
    st.subheader("The same example in the other cells")
    st.toggle("Show the other cells", key="gm_compare")
    if not st.session_state["gm_compare"]:
        return
    for column, other in zip(st.columns(len(others)), others):
        # Runs stop at different steps: the other cell's checkpoint for the step shown, by the one rule.
        other_checkpoint = checkpoint_at(trainer.runs[other].checkpoints, view.checkpoint.step)
        other_arrays = memory_traces.example_arrays(view.explored, other, other_checkpoint, view.example, view.layer)
        with column:
            charts.show(view.heatmaps(other, other_checkpoint, other_arrays, 130), f"gm_compare_{other}",
                        name=f"{other}_gates_and_states_step{other_checkpoint.step}", in_zip=False)


@dataclass(frozen=True)
class SearchResult:
    """What a neuron search ranked: the scores, their label, what they are about, and what the trajectories mark."""
    scores: np.ndarray
    label: str
    about: str
    feature: tuple[str, np.ndarray] | None = None
    span: tuple[int, int] | None = None
    threshold: float | None = None


def search_by_feature(view: MemoryView, column, name: str) -> SearchResult:
    ss, features = st.session_state, feature_names(view)
    page_url.fit("gm_feature", features, features[0])
    column.selectbox("Task feature", features, key="gm_feature",
                     help="Per-step quantities the task defines; units are ranked by |Pearson r| with the "
                          f"feature over all steps of the {len(view.trainer.probe_inputs)} probe sequences.")
    feature = ss["gm_feature"]
    scores = memory_traces.feature_scores(view, name, feature)
    return SearchResult(scores, "Pearson r", f"correlation with “{feature}” over the probe sequences",
                        feature=(feature, view.trainer.task.features(view.example.inputs)[feature]))


def search_by_span(view: MemoryView, column, name: str, symbol: str) -> SearchResult:
    ss = st.session_state
    steps_total = view.example.inputs.shape[0]
    start, end = ss["gm_span_start"], ss["gm_span_end"]
    if not (0 <= start <= end < steps_total) or end - start + 1 >= steps_total:
        start, end = steps_total // 3, min(steps_total - 2, 2 * steps_total // 3)
    ss["gm_span"] = (start, end)

    def on_span_change() -> None:
        ss["gm_span_start"], ss["gm_span_end"] = (int(v) for v in ss["gm_span"])

    with column:
        st.slider("Span of this example (time steps)", 0, steps_total - 1, key="gm_span", on_change=on_span_change)
        inner = st.columns(2)
        page_url.fit("gm_span_method", list(memory.SPAN_METHODS), "contrast")
        inner[0].selectbox("Score", list(memory.SPAN_METHODS), key="gm_span_method", format_func=memory.SPAN_METHODS.get)
        if ss["gm_span_method"] == "match":
            inner[1].number_input("“On” above", min_value=memory_view.THRESHOLD_RANGE[0],
                                  max_value=memory_view.THRESHOLD_RANGE[1], step=0.05, key="gm_threshold",
                                  help="A unit is on where its value exceeds this (or lies below minus this).")
    start, end = (int(v) for v in ss["gm_span"])
    ss["gm_span_start"], ss["gm_span_end"] = start, end
    about = f"{memory.SPAN_METHODS[ss['gm_span_method']]} for steps {start}–{end} of this example"
    if ss["gm_span_method"] == "match":
        threshold = float(ss["gm_threshold"])
        return SearchResult(memory.span_match(view.arrays[name], start, end, threshold), "match (signed Jaccard)",
                            about, span=(start, end), threshold=threshold)
    return SearchResult(memory.span_contrast(view.arrays[name], start, end), f"mean {symbol} inside − outside",
                        about, span=(start, end))


def neuron_search(view: MemoryView) -> None:
    st.subheader("Neuron search")
    st.caption("As in LSTMVis: say what a unit should track, and the units are ranked by how well they do.")
    columns = st.columns([1, 1, 2])
    searches = {k: v for k, v in SEARCHES.items() if k != "feature" or feature_names(view)}
    page_url.fit("gm_search", list(searches), list(searches)[0])
    columns[0].radio("Search by", list(searches), key="gm_search", format_func=searches.get)
    name, symbol = search_state(view)
    columns[1].selectbox("State", state_names(view), key="gm_state", format_func=lambda n: TRACE_LABELS[n])
    try:
        if st.session_state["gm_search"] == "feature":
            found = search_by_feature(view, columns[2], name)
        else:
            found = search_by_span(view, columns[2], name, symbol)
        show_search(view, found, name, symbol)
    except LstmVizError as error:
        st.warning(str(error))


def show_search(view: MemoryView, found: SearchResult, name: str, symbol: str) -> None:
    scores, label, arch, step = found.scores, found.label, view.arch, view.checkpoint.step
    top = memory.top_units(scores, SEARCH_UNITS)
    left, right = st.columns([2, 3])
    with left:
        charts.show(memory_figures.unit_scores(
            scores, top, title=f"Best {len(top)} of {hidden_size(view)} units: {label}", score_label=label,
        ), "gm_scores", name=f"{arch}_neuron_search_scores_step{step}", in_zip=False)
    left.caption(f"Ranked by |{label}|, {found.about}. Best: unit {int(top[0])}, {label} = "
                 f"{float(scores[top[0]]):.3f}.")
    with right:
        charts.show(memory_figures.unit_trajectories(
            view.arrays[name], top, view.channels, tokens=view.example.tokens, unknown=view.example.unknown,
            feature=found.feature, span=found.span, threshold=found.threshold,
            title=f"The best units on this example ({TRACE_LABELS[name]})", value_label=symbol,
        ), "gm_search_traces", name=f"{arch}_neuron_search_best_units_step{step}", in_zip=False)
