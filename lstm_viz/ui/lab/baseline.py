"""The Best-practice lab's baseline section: the LSTM, GRU and RNN against ETS, seasonal ARIMA and the naive
forecasts on every bundled series (lstm_viz.practices.baseline), through the server's scheduler."""
from __future__ import annotations

import streamlit as st

from lstm_viz.data.series import BUNDLED_SERIES
from lstm_viz.figures.baseline import baseline_figure
from lstm_viz.practices import baseline as engine
from lstm_viz.ui import charts
from lstm_viz.ui.lab import practice_jobs

KIND = "baseline"


def settings() -> engine.BaselineSettings:
    state = st.session_state
    chosen = [name for name in engine.SERIES if name in state["lab_base_series"]]
    return engine.BaselineSettings(series=tuple(chosen), steps=int(state["lab_base_steps"]))


def _tables(result: engine.BaselineResult) -> None:
    for series in result.series:
        winner = series.winner()
        st.markdown(f"**{series.label}** (window {series.window}, horizon {series.horizon}, "
                    f"{len(series.origins)} test origins)")
        rows = [{"method": m.label, "kind": m.kind, f"test MAE ({series.unit})": m.mae,
                 f"test RMSE ({series.unit})": m.rmse, "seconds": m.seconds,
                 "fit": "failed: " + m.note if m.status == "failed" else (m.note or "ok"),
                 "winner": m is winner} for m in series.methods]
        st.dataframe(rows, hide_index=True, width="stretch", key=f"lab_base_table_{series.series}", column_config={
            f"test MAE ({series.unit})": st.column_config.NumberColumn(format="%.4g"),
            f"test RMSE ({series.unit})": st.column_config.NumberColumn(format="%.4g"),
            "seconds": st.column_config.NumberColumn(format="%.3g"),
            "winner": st.column_config.CheckboxColumn("lowest MAE")})
        st.caption(engine.series_takeaway(series))


def section(page) -> None:
    """Draw the baseline experiment: its settings, its run through the scheduler, its result and takeaway."""
    st.markdown(
        "Before shipping a network, try what a statistician would: on each series, the LSTM, GRU and tanh RNN "
        "against **ETS** and **seasonal ARIMA** (statsmodels' ETSModel and SARIMAX, orders picked by a small AIC "
        "search) and the naive forecasts, on the same test origins and horizon, each timed.")
    running = practice_jobs.is_running(KIND)
    left, right = st.columns([3, 1])
    left.multiselect("Series", engine.SERIES, key="lab_base_series", disabled=running,
                     format_func=lambda name: BUNDLED_SERIES[name]["label"].split(",")[0])
    right.selectbox("Steps per network", engine.STEP_CHOICES, key="lab_base_steps", disabled=running)
    chosen = settings()
    if not chosen.series:
        st.warning("Pick at least one series.")
        return
    result = practice_jobs.controls(
        KIND, chosen, chosen.units(),
        lambda ticket: engine.run_baseline(chosen, ticket.should_stop,
                                           lambda fraction: ticket.progress(fraction * ticket.units)),
        label="fitting every forecaster", run_label="Run the comparison")
    if result is None:
        st.caption(f"{len(chosen.series)} series × (3 networks of {chosen.steps} steps + ETS and ARIMA searches): "
                   "about 5-20 s on a quiet 2-core server.")
        return
    st.info(engine.baseline_takeaway(result), icon=":material/lightbulb:")
    charts.show(baseline_figure(result), "lab_base_chart", name="honest_baseline", in_zip=False)
    _tables(result)
    with st.expander("How each forecaster was fitted"):
        st.markdown(
            "- **Networks**: the Forecast page's recipe (log for the airline series, standardised on the training "
            "part, changes from the window's last value), every training window, Adam(W) lr 0.01, batch 32, "
            "hidden 32, seed 0, the best validation checkpoint restored.\n"
            "- **ETS** (statsmodels ETSModel): additive errors; trend none, additive or damped; an additive season "
            "when the series has one; lowest AIC kept.\n"
            "- **Seasonal ARIMA** (statsmodels SARIMAX): (p, d, q) with p in 0-2 and q in 0-1, and the pure AR "
            "orders 3-10 on a series without a season; d = 0 for the sunspots and 1 otherwise, a seasonal (0, 1, 1) "
            "part of the series' period; lowest AIC kept.\n"
            "- Both statistical models are fitted once on everything before the test part, then filtered up to "
            "each test origin with their parameters fixed. statsforecast was not used: it needs pandas < 3.\n"
            "- A fit that fails, or whose optimiser did not converge, says so in the table.")
