"""The Best-practice lab's normalisation section: one network on the raw series and on the standardised one
(lstm_viz.practices.normalisation), through the server's scheduler."""
from __future__ import annotations

import streamlit as st

from lstm_viz.core.architectures import ARCHITECTURES
from lstm_viz.data.series import BUNDLED_SERIES
from lstm_viz.figures.normalisation import normalisation_figure
from lstm_viz.practices import normalisation as engine
from lstm_viz.ui import charts
from lstm_viz.ui.lab import practice_jobs

KIND = "normalisation"


def settings() -> engine.NormSettings:
    state = st.session_state
    return engine.NormSettings(series=state["lab_norm_series"], arch=state["lab_norm_arch"],
                               steps=int(state["lab_norm_steps"]))


def section(page) -> None:
    """Draw the normalisation experiment: its settings, its run through the scheduler, its result and takeaway."""
    st.markdown(
        "The same network, seed, split, window and horizon, trained twice: once on the series as it is, once on "
        "the series standardised with the mean and standard deviation **of its training part only** (the "
        "validation and test parts must not leak into it). Both read the window's values and forecast the next "
        "ones; both are scored in the series' own units on the held-out test part.")
    running = practice_jobs.is_running(KIND)
    columns = st.columns([2, 1, 1, 2])
    columns[0].selectbox("Series", engine.SERIES_CHOICES, key="lab_norm_series", disabled=running,
                         format_func=lambda name: BUNDLED_SERIES[name]["label"].split(",")[0])
    columns[1].selectbox("Network", engine.ARCH_CHOICES, key="lab_norm_arch", disabled=running,
                         format_func=lambda name: ARCHITECTURES[name].label)
    columns[2].selectbox("Steps", engine.STEP_CHOICES, key="lab_norm_steps", disabled=running)
    chosen = settings()
    result = practice_jobs.controls(
        KIND, chosen, chosen.units(),
        lambda ticket: engine.run_normalisation(chosen, ticket.should_stop,
                                                lambda fraction: ticket.progress(fraction * ticket.units)),
        label="training on the raw and the standardised series", run_label="Run the experiment")
    if result is None:
        st.caption(f"Two trainings of {chosen.steps} steps: a few seconds on a quiet 2-core server.")
        return
    st.info(engine.normalisation_takeaway(result), icon=":material/lightbulb:")
    charts.show(normalisation_figure(result), "lab_norm_chart", name=f"normalisation_{result.settings.series}",
                in_zip=False)
    rows = [{"series fed to the network": arm.label,
             "scaler (mean, std of the training part)": "none" if arm.arm == "raw" else
             f"{arm.scaler.mean:.4g}, {arm.scaler.std:.4g}",
             f"test MAE ({result.unit})": arm.mae, f"test RMSE ({result.unit})": arm.rmse,
             "best validation step (restored)": arm.best_step, "seconds": arm.seconds}
            for arm in result.arms.values()]
    rows.append({"series fed to the network": "naive forecast (last value)", "scaler (mean, std of the training part)": "—",
                 f"test MAE ({result.unit})": result.naive_mae, f"test RMSE ({result.unit})": None,
                 "best validation step (restored)": None, "seconds": None})
    st.dataframe(rows, hide_index=True, width="stretch", key="lab_norm_table", column_config={
        name: st.column_config.NumberColumn(name, format="%.4g") for name in rows[0]
        if name not in ("series fed to the network", "scaler (mean, std of the training part)")})
    st.caption(f"Window {result.window}, horizon {result.horizon}; {len(result.origins)} test origins, every step of "
               "each horizon scored.")
