"""The Best-practice lab's overfitting section: a short series trained again and again, with dropout, weight decay
and early stopping each on and off (lstm_viz.practices.overfitting), through the server's scheduler."""
from __future__ import annotations

import streamlit as st

from lstm_viz.data.series import BUNDLED_SERIES
from lstm_viz.figures.overfitting import overfitting_figure
from lstm_viz.practices import overfitting as engine
from lstm_viz.ui import charts
from lstm_viz.ui.lab import practice_jobs

KIND = "overfitting"


def settings() -> engine.OverfitSettings:
    state = st.session_state
    return engine.OverfitSettings(
        series=state["lab_fit_series"], hidden_size=int(state["lab_fit_hidden"]), steps=int(state["lab_fit_steps"]),
        dropout=float(state["lab_fit_dropout"]), weight_decay=float(state["lab_fit_decay"]),
        patience=int(state["lab_fit_patience"]))


def _widgets(disabled: bool) -> None:
    columns = st.columns([1.5, 1, 1, 1, 1, 1])
    columns[0].selectbox("Series", engine.SERIES_CHOICES, key="lab_fit_series", disabled=disabled,
                         format_func=lambda name: BUNDLED_SERIES[name]["label"].split(",")[0])
    columns[1].selectbox("Hidden size", engine.HIDDEN_CHOICES, key="lab_fit_hidden", disabled=disabled)
    columns[2].selectbox("Steps", engine.STEP_CHOICES, key="lab_fit_steps", disabled=disabled)
    columns[3].selectbox("Dropout", engine.DROPOUT_CHOICES, key="lab_fit_dropout", disabled=disabled,
                         help="On what the LSTM reads and on its output before the readout, while it trains.")
    columns[4].selectbox("Weight decay", engine.DECAY_CHOICES, key="lab_fit_decay", disabled=disabled,
                         help="AdamW's decoupled decay: each step shrinks every weight by lr × decay.")
    columns[5].selectbox("Patience", engine.PATIENCE_CHOICES, key="lab_fit_patience", disabled=disabled,
                         help="Early stopping: evaluations (every 20 steps) without a better validation loss.")


def _table(result: engine.OverfitResult) -> None:
    rows = [{
        "arm": arm.label,
        "validation loss reported": arm.reported_val_loss,
        "of the weights at step": arm.reported_step,
        "best validation loss": arm.fit.best_val_loss,
        "best step": arm.fit.best_step,
        "steps trained": arm.fit.stopped_step,
        "final training loss": arm.fit.train_loss[-1],
        f"test MAE ({result.unit})": arm.test_mae,
        "seconds": arm.fit.seconds,
    } for arm in result.arms.values()]
    st.dataframe(rows, hide_index=True, width="stretch", key="lab_fit_table", column_config={
        name: st.column_config.NumberColumn(name, format="%.4g") for name in rows[0] if name != "arm"})


def section(page) -> None:
    """Draw the overfitting experiment: its settings, its run through the scheduler, its result and takeaway."""
    st.markdown(
        "A network trained over and over on a small training set learns it by heart: its training loss keeps "
        "falling while its validation loss turns and climbs. Every arm below starts from the same weights and "
        "sees the same windows in the same order; only the practice differs. With early stopping the run stops "
        "when the validation loss has not improved for a while and **restores its best checkpoint**: those are "
        "the weights it is scored on.")
    running = practice_jobs.is_running(KIND)
    _widgets(running)
    chosen = settings()
    steps = chosen.steps * len(engine.ARMS)
    result = practice_jobs.controls(
        KIND, chosen, chosen.units(),
        lambda ticket: engine.run_overfitting(chosen, ticket.should_stop,
                                              lambda fraction: ticket.progress(fraction * ticket.units)),
        label="training the five arms", run_label="Run the experiment")
    if result is None:
        st.caption(f"Five arms (none, dropout, weight decay, early stopping, all three) of up to {chosen.steps} "
                   f"steps each, {steps:,} in all: a few seconds to half a minute on a quiet 2-core server.")
        return
    st.info(engine.overfitting_takeaway(result), icon=":material/lightbulb:")
    charts.show(overfitting_figure(result), "lab_fit_chart", name=f"overfitting_{result.settings.series}",
                in_zip=False)
    _table(result)
    st.caption(f"{result.train_windows} training and {result.val_windows} validation windows of the series "
               f"(standardised on the training part, read as changes from each window's last value); the loss is "
               f"the MSE of the next values on that scale. An arm with early stopping follows the one without exactly until "
               f"it stops (same weights, same batches). {result.seconds:.1f} s of training in all.")
