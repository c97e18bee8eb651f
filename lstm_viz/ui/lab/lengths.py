"""The Best-practice lab's consistent-lengths section: variable-length adding sequences trained padded and packed,
padded and not packed, and truncated, on identical batches from identical weights (lstm_viz.practices.lengths), as
one job of the server's scheduler; the test error of each, the gates on the padding, and the computed takeaway."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from lstm_viz.figures.lengths import lengths_curves_figure, padding_gates_figure
from lstm_viz.practices import lengths as engine
from lstm_viz.rules.errors import ConfigError
from lstm_viz.rules.ranges import LAB_HIDDEN_RANGE, LAB_LENGTH_RANGE, LAB_LENGTH_STEPS_RANGE
from lstm_viz.ui import charts
from lstm_viz.ui.lab import experiment_panel
from lstm_viz.ui.page_schemas import LAB_LEN_CELLS

NAME = "lengths"
CELL_LABELS = {"lstm": "LSTM", "gru": "GRU", "rnn": "tanh RNN"}


def config_from_settings() -> engine.LengthsConfig:
    state = st.session_state
    return engine.LengthsConfig(arch=state["lab_len_arch"] or "lstm", min_length=int(state["lab_len_min"]),
                                max_length=int(state["lab_len_max"]), truncate_to=int(state["lab_len_cut"]),
                                hidden_size=int(state["lab_len_hidden"]), steps=int(state["lab_len_steps"]))


def _settings(disabled: bool) -> None:
    st.segmented_control("Cell", LAB_LEN_CELLS, key="lab_len_arch", format_func=CELL_LABELS.get, disabled=disabled)
    columns = st.columns(5)
    low, high = LAB_LENGTH_RANGE
    columns[0].number_input("Shortest length", low, high, key="lab_len_min", disabled=disabled)
    columns[1].number_input("Longest length", low, high, key="lab_len_max", disabled=disabled,
                            help="Every batch is padded with zeros at the end up to this length.")
    columns[2].number_input("Truncate to", low, high, key="lab_len_cut", disabled=disabled,
                            help="The truncated model reads only the first steps of every sequence.")
    columns[3].number_input("Hidden size", *LAB_HIDDEN_RANGE, step=8, key="lab_len_hidden", disabled=disabled)
    columns[4].number_input("Training steps", *LAB_LENGTH_STEPS_RANGE, step=100, key="lab_len_steps",
                            disabled=disabled, help="Each of the three models, on the same batches (64 sequences).")


def _draw(result, finished: bool) -> None:
    if not isinstance(result, engine.LengthsResult):
        return
    st.success(engine.lengths_takeaway(result), icon=":material/lightbulb:")
    table = pd.DataFrame(engine.metric_rows(result))
    st.dataframe(table, hide_index=True, column_config={
        "test MSE": st.column_config.NumberColumn(format="%.4f"),
        "MSE / baseline": st.column_config.NumberColumn(format="%.3f", help="1 = no better than predicting 1"),
        "training seconds": st.column_config.NumberColumn(format="%.1f s", help="measured, on this server")})
    labels = engine.VARIANT_LABELS
    charts.show(lengths_curves_figure(result.curves, labels, result.baseline), key="labchart_len_curves", in_zip=False)
    charts.show(padding_gates_figure(result.trace, labels), key="labchart_len_gates", in_zip=False)


def _idle() -> None:
    st.info("Run trains the three models on the same batches; their test error and what the unpacked model does on "
            "the padding appear here.", icon=":material/play_circle:")


def section(page) -> None:
    """Draw the lengths experiment: its settings, its run through the scheduler, its result and takeaway."""
    st.subheader("Consistent lengths: pad and pack, pad only, or truncate")
    st.caption("The adding problem (sum the two marked values) with each sequence's length drawn between the "
               "shortest and the longest. Batches are padded with zeros **at the end** (post-padding): the packed "
               "model reads the very same tensor with its lengths (`pack_padded_sequence`), so telling the model "
               "the lengths is the only difference, and the unpacked model must carry its memory across the "
               "padding. (Pre-padding would put the zeros first and end each sequence on its last true step.)")
    running = experiment_panel.handle(NAME).is_running()
    _settings(running)
    config = config_from_settings()
    problem = None
    try:
        config.validate()
    except ConfigError as exc:
        problem = str(exc)
    cached = engine.RESULTS.get(config) is not None if problem is None else False
    plan = (f"Three {CELL_LABELS[config.arch]}s of {config.hidden_size} units, {config.steps:,} steps each on the "
            f"same batches, scored on {engine.LAB_LENGTH_EVAL_SIZE} test sequences"
            + (": already computed on this server, shown at once." if cached else "."))
    experiment_panel.controls(NAME, lambda: experiment_panel.start(
        NAME, config, lambda stop, scheduler, owner: engine.iter_lengths(config, stop, scheduler, owner)), problem, plan)
    experiment_panel.live(NAME, _draw, _idle)
