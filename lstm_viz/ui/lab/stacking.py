"""The Best-practice lab's stacking section: the same cell, task, seed and width with 1, 2 and 3 layers, each a run
of the server's scheduler kept in the sweep's point cache (lstm_viz.practices.stacking): the final metric, the
measured time per step and the parameters of each, and the takeaway computed from them."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from lstm_viz.figures.stacking import stacking_figure
from lstm_viz.practices import stacking as engine
from lstm_viz.rules.errors import ConfigError
from lstm_viz.rules.ranges import LAB_HIDDEN_RANGE, LAB_STACK_STEPS_RANGE
from lstm_viz.ui import charts
from lstm_viz.ui.lab import experiment_panel
from lstm_viz.ui.page_schemas import LAB_LEN_CELLS

NAME = "stacking"
CELL_LABELS = {"lstm": "LSTM", "gru": "GRU", "rnn": "tanh RNN"}


def config_from_settings() -> engine.StackingConfig:
    state = st.session_state
    return engine.StackingConfig(arch=state["lab_stack_arch"] or "lstm", hidden_size=int(state["lab_stack_hidden"]),
                                 steps=int(state["lab_stack_steps"]))


def _draw(result, finished: bool) -> None:
    if not isinstance(result, engine.StackingResult) or not result.rows:
        return
    if finished:
        st.success(engine.stacking_takeaway(result), icon=":material/lightbulb:")
    else:
        st.info("So far: " + engine.stacking_takeaway(result), icon=":material/hourglass_top:")
    table = pd.DataFrame([{"layers": row.layers, f"test {row.metric_name}": row.final_metric,
                           "solved at step": row.solved_step, "steps trained": row.steps_trained,
                           "ms per step": row.seconds_per_step * 1e3, "parameters": row.parameters}
                          for row in result.rows])
    st.dataframe(table, hide_index=True, column_config={
        "ms per step": st.column_config.NumberColumn(format="%.2f", help="one training step (forward, backward, "
                                                     "clipping, Adam), every depth timed in turns in this run"),
        "parameters": st.column_config.NumberColumn(format="%d")})
    charts.show(stacking_figure(result.rows, result.config.arch, result.config.solved_threshold()), key="labchart_stack",
                in_zip=False)


def _idle() -> None:
    st.info("Run trains one, two and three layers in turn; each depth appears when it finishes.",
            icon=":material/play_circle:")


def section(page) -> None:
    """Draw the stacking experiment: its settings, its run through the scheduler, its result and takeaway."""
    config = config_from_settings()
    st.subheader("Stacking: one, two or three layers")
    st.caption(f"The adding problem at T={config.length}, seed 0, the same width in every layer; each depth trains "
               "until it solves (test MSE < 0.01) or uses its budget. The time per step is measured with every depth "
               "timed in turns in the same job, so all run under the same load; a depth's time to solve is its "
               "steps times that.")
    running = experiment_panel.handle(NAME).is_running()
    left, middle, right = st.columns([2, 1, 1])
    left.segmented_control("Cell", LAB_LEN_CELLS, key="lab_stack_arch", format_func=CELL_LABELS.get,
                           disabled=running)
    middle.number_input("Hidden size", *LAB_HIDDEN_RANGE, step=8, key="lab_stack_hidden", disabled=running)
    right.number_input("Steps per depth", *LAB_STACK_STEPS_RANGE, step=100, key="lab_stack_steps", disabled=running)
    problem = None
    try:
        config.validate()
    except ConfigError as exc:
        problem = str(exc)
    plan = (f"{CELL_LABELS[config.arch]}, {config.hidden_size} units per layer, 1-3 layers, up to {config.steps:,} "
            "steps each.")
    experiment_panel.controls(NAME, lambda: experiment_panel.start(
        NAME, config, lambda stop, scheduler, owner: engine.iter_stacking(config, stop, scheduler, owner)), problem, plan)
    experiment_panel.live(NAME, _draw, _idle)
