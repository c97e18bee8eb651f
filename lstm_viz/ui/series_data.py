"""The Train page's controls for series tasks: which series (bundled or your own CSV), the horizon, and the limits.

The chosen options live in `st.session_state["task_options"]["forecast"]` (plain state, so they survive a visit to
another page), which `state.config_from_settings` passes to the RunConfig as task_options. Uploaded files are only
parsed as text (lstm_viz.data.uploads) and kept as arrays in lstm_viz.data.datastore; nothing is executed or unpickled.
"""
from __future__ import annotations

import streamlit as st

from lstm_viz.data import datastore
from lstm_viz.ui import data_sharing
from lstm_viz.ui.plain import plain, plain_short
from lstm_viz.rules.errors import ConfigError, UploadError
from lstm_viz.data.series import MAX_HORIZON, MAX_WINDOW, SERIES_NAMES, load_series
from lstm_viz.core.tasks import TASKS, Task
from lstm_viz.data.uploads import (
    MAX_SERIES_BYTES, MAX_SERIES_ROWS, MIN_SERIES_ROWS, default_value_column, numeric_columns, read_series_csv,
    read_series_table,
)

SERIES_TASKS = ("forecast",)
OPTIONS_KEY = "task_options"
UPLOAD = "upload"
NO_TIME = "(none: rows in file order)"
MISSING_LABELS = {
    "refuse": "stop and tell me",
    "drop": "drop those rows",
    "interpolate": "interpolate linearly",
}


def _options() -> dict:
    return st.session_state.setdefault(OPTIONS_KEY, {}).setdefault("forecast", {})


def _series_label(name: str) -> str:
    return "Your own CSV file…" if name == UPLOAD else load_series(name).label


def _on_series_change() -> None:
    choice = st.session_state["series_picker"]
    options = _options()
    options.clear()
    if choice != UPLOAD:
        options["series"] = choice
        series = load_series(choice)
        st.session_state["length"] = series.default_window
        st.session_state["series_horizon"] = series.default_horizon
    else:
        options["dataset"] = st.session_state.get("series_dataset", "")


def _on_horizon_change() -> None:
    _options()["horizon"] = int(st.session_state["series_horizon"])


def series_settings(disabled: bool = False) -> Task:
    """Draw the series controls in the sidebar; returns the task configured by them (for the window's limits)."""
    state = st.session_state
    options = _options()
    choice = UPLOAD if "dataset" in options else options.get("series", "airline")
    if state.get("series_picker") != choice:  # forgotten on other pages, or a preset cleared the options
        state["series_picker"] = choice
    st.selectbox(
        "Series", [*SERIES_NAMES, UPLOAD], key="series_picker", format_func=_series_label,
        on_change=_on_series_change, disabled=disabled,
        help="Real series shipped with the app (sources in assets/data/README.md), a generated one, or your own CSV.",
    )
    if state["series_picker"] == UPLOAD:
        _upload_controls(disabled)
    elif "series" not in options:
        options["series"] = state["series_picker"]
    base = TASKS["forecast"]
    try:
        task = base.with_options(**{k: v for k, v in options.items() if k != "horizon"})
    except ConfigError as error:
        st.warning(str(error))
        return base
    series = task.series
    top = series.max_horizon()
    horizon = int(options.get("horizon", series.default_horizon))
    horizon = min(max(1, horizon), top)
    options["horizon"] = horizon
    if state.get("series_horizon") != horizon:
        state["series_horizon"] = horizon
    st.number_input(
        f"Forecast horizon (1–{top} steps)", min_value=1, max_value=top, step=1, key="series_horizon",
        on_change=_on_horizon_change, disabled=disabled,
        help=f"How many steps ahead to forecast, all at once (1 to {top} here: at most {MAX_HORIZON}, and no longer than "
             f"the validation ({series.val_size}) or test ({series.test_size}) part).",
    )
    task = base.with_options(**options)
    low, high = task.min_length, task.max_length
    if not low <= int(state.get("length", low)) <= high:
        state["length"] = min(max(int(state.get("length", low)), low), high)
    st.caption(
        f"**{plain_short(series.label)}.** {series.description} Split in time: train {series.train_end}, validation "
        f"{series.val_size}, test {series.test_size} values (test: {series.times[series.val_end]} to "
        f"{series.times[-1]}). Input window (sequence length T below): {low}–{high} steps for this series and "
        f"horizon (at most {MAX_WINDOW}, leaving at least 8 training windows)."
    )
    return task


def _upload_controls(disabled: bool) -> None:
    state = st.session_state
    options = _options()
    uploaded = st.file_uploader(
        "CSV time series", type=["csv", "txt", "tsv"], key="series_file", disabled=disabled,
        help=f"UTF-8 text, comma/semicolon/tab separated, with a header row; at most {MAX_SERIES_BYTES // 2**20} MB and "
             f"{MAX_SERIES_ROWS:,} rows, at least {MIN_SERIES_ROWS}. One numeric column to forecast; optionally a time "
             "column (dates or numbers).",
    )
    st.caption(f"Limits: {MIN_SERIES_ROWS}–{MAX_SERIES_ROWS:,} rows, {MAX_SERIES_BYTES // 2**20} MB. "
               "Split 70% train, 15% validation, 15% test, in time order.")
    if uploaded is None:
        options.clear()
        options["dataset"] = ""
        if state.get("series_dataset"):
            # The file widget was cleared (or this is another visit): keep the last valid upload.
            options["dataset"] = state["series_dataset"]
            name = state.get("series_dataset_name", "")
            st.caption(f"Using your last upload, {plain_short(name)}.", help=plain(name) if len(name) > 40 else None)
        return
    raw = uploaded.getvalue()
    try:
        table = read_series_table(raw, uploaded.name)
    except UploadError as error:
        st.error(f"**{plain_short(uploaded.name)}**: {plain(error)}.")
        _forget_upload()
        return
    numeric = numeric_columns(table)
    columns = [str(c) for c in table.columns]
    if state.get("series_column") not in numeric:
        state["series_column"] = default_value_column(table)
    value_column = st.selectbox("Value column", numeric, key="series_column", disabled=disabled,
                                help="The numeric column to forecast.")
    time_column = st.selectbox("Time column (optional)", [NO_TIME, *[c for c in columns if c != value_column]],
                               key="series_time_column", disabled=disabled,
                               help="Dates or numbers, increasing. Gaps in it count as missing values.")
    missing = st.radio("Missing values or gaps", list(MISSING_LABELS), key="series_missing",
                       format_func=MISSING_LABELS.get, horizontal=True, disabled=disabled)
    try:
        series = read_series_csv(raw, column=value_column, time_column=None if time_column == NO_TIME else time_column,
                                 missing=missing, what=uploaded.name)
    except UploadError as error:
        st.error(f"**{plain_short(uploaded.name)}**: {plain(error)}.")
        _forget_upload()
        return
    stored = datastore.put("series", uploaded.name, {"values": series.values, "times": series.times})
    state["series_dataset"], state["series_dataset_name"] = stored.key, uploaded.name
    if options.get("dataset") != stored.key:
        options.clear()
        options["dataset"] = stored.key
        upload_task = TASKS["forecast"].with_options(dataset=stored.key)
        state["length"] = upload_task.default_length
        options["horizon"] = upload_task.horizon
    notes = "; ".join(series.notes)
    st.success(f"{len(series.values):,} values of “{plain_short(series.column)}” ready{': ' + plain(notes) if notes else ''}.")
    data_sharing.share_controls(stored, task="forecast", widget_key="series_share")


def _forget_upload() -> None:
    state = st.session_state
    state.pop("series_dataset", None)
    options = _options()
    options.clear()
    options["dataset"] = ""
