"""The Best-practice lab's tuning section: a grid of learning rate x hidden size x batch size, every point an LSTM
training run queued on the server's scheduler and kept in the sweep's per-server point cache
(lstm_viz.practices.tuning); heatmaps of the final metric and the time to solve, per batch size, and the takeaway."""
from __future__ import annotations

import streamlit as st

from lstm_viz.core.tasks import get_task
from lstm_viz.figures.tuning import QUANTITIES, tuning_heatmap
from lstm_viz.practices import tuning as engine
from lstm_viz.rules.errors import ConfigError
from lstm_viz.rules.ranges import LAB_TUNE_STEPS_RANGE
from lstm_viz.runs.sweep import POINT_CACHE, format_duration
from lstm_viz.ui import charts
from lstm_viz.ui.lab import experiment_panel
from lstm_viz.ui.page_schemas import LAB_TUNE_BATCH_TEXTS, LAB_TUNE_HIDDEN_TEXTS, LAB_TUNE_LR_TEXTS, LAB_TUNE_VIEWS

NAME = "tuning"
VIEW_LABELS = {"metric": "final metric", "steps": "steps to solve", "seconds": "seconds to solve"}


def config_from_settings() -> engine.TuningConfig:
    state = st.session_state
    return engine.TuningConfig(learning_rates=tuple(float(v) for v in state["lab_tune_lrs"]),
                               hidden_sizes=tuple(int(v) for v in state["lab_tune_hiddens"]),
                               batch_sizes=tuple(int(v) for v in state["lab_tune_batches"]),
                               steps_per_point=int(state["lab_tune_steps"]))


def _settings(disabled: bool) -> None:
    columns = st.columns([3, 3, 2, 2])
    columns[0].multiselect("Learning rates (Adam)", LAB_TUNE_LR_TEXTS, key="lab_tune_lrs", disabled=disabled)
    columns[1].multiselect("Hidden sizes", LAB_TUNE_HIDDEN_TEXTS, key="lab_tune_hiddens", disabled=disabled)
    columns[2].multiselect("Batch sizes", LAB_TUNE_BATCH_TEXTS, key="lab_tune_batches", disabled=disabled)
    columns[3].number_input("Steps per point", *LAB_TUNE_STEPS_RANGE, step=100, key="lab_tune_steps",
                            disabled=disabled, help="A point stops early when it solves the task (test MSE < 0.01).")


def _draw(result, finished: bool) -> None:
    if not isinstance(result, engine.TuningResult) or not result.cells():
        return
    if finished:
        st.success(engine.tuning_takeaway(result), icon=":material/lightbulb:")
    else:
        st.info("So far: " + engine.tuning_takeaway(result), icon=":material/hourglass_top:")
    view = st.segmented_control("Colour by", LAB_TUNE_VIEWS, key="lab_tune_view", format_func=VIEW_LABELS.get)
    view = view or LAB_TUNE_VIEWS[0]
    metric = result.cells()[0][1].metric_name
    charts.show(tuning_heatmap(result.config.points(), result.rows, view, metric, result.solve_seconds),
                key="labchart_tune_heatmap", in_zip=False)
    timings = ", ".join(f"H{hidden}/B{batch} {seconds * 1e3:.1f} ms"
                        for (hidden, batch), seconds in sorted(result.step_seconds.items()))
    st.caption(f"Colour: {QUANTITIES[view].format(metric=metric)}. A point stops when it solves, so a solved point's "
               "final metric is its first below 0.01: compare the solved ones by their time to solve. Seconds are "
               "the steps to the solve times the training step of its hidden and batch size, timed side by side "
               f"in this run (so every point is measured under the same load): {timings} per step.")


def _idle() -> None:
    st.info("Run trains every grid point in turn; the heatmaps fill as points finish, and Stop keeps them.",
            icon=":material/play_circle:")


def section(page) -> None:
    """Draw the tuning experiment: its settings, its run through the scheduler, its result and takeaway."""
    config = config_from_settings()
    st.subheader("Tuning: learning rate x hidden size x batch size")
    st.caption(f"Every point is one LSTM trained on the {get_task(config.task).label.lower()} at T={config.length}, "
               "seed 0, until it solves (test MSE < 0.01) or uses its budget: the same run the Length sweep page "
               "would train, so points any session trained on this server come back at once.")
    running = experiment_panel.handle(NAME).is_running()
    _settings(running)
    problem = None
    try:
        config.validate()
    except ConfigError as exc:
        problem = str(exc)
    plan = ""
    if problem is None:
        points = config.points()
        cached = sum(engine.cached_row(config.sweep_config(point), POINT_CACHE) is not None for point in points)
        plan = (f"{len(points)} points ({len(config.learning_rates)} x {len(config.hidden_sizes)} x "
                f"{len(config.batch_sizes)}), up to {config.steps_per_point:,} steps each")
        if cached == len(points):
            plan += ": all already computed on this server, so Run shows them at once."
        else:
            plan += (f": at most about {format_duration(config.estimated_seconds(POINT_CACHE))} of training on a "
                     "quiet machine, less where points solve early")
            plan += f"; {cached} already computed on this server." if cached else "."
    experiment_panel.controls(NAME, lambda: experiment_panel.start(
        NAME, config, lambda stop, scheduler, owner: engine.iter_tuning(config, stop, scheduler, owner)), problem, plan)
    experiment_panel.live(NAME, _draw, _idle)
