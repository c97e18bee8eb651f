"""Uploaded data stays private to the session that uploaded it (lstm_viz.data.datastore); sharing it is a deliberate act.

Importing this module tells the data store how to recognise the current session (Streamlit's session id).
`share_controls` draws the "Share this data" button under an upload and, once pressed, says who can see what.
"""
from __future__ import annotations

import json
from urllib.parse import urlencode

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from lstm_viz.data import datastore
from lstm_viz.rules.errors import LstmVizError

SHARED_NOTICE = (
    "Shared: anyone with this link sees this data (its file name, its rows and the examples drawn from it) for as "
    "long as the server keeps it. Without the link nobody else can open it."
)
PRIVATE_NOTICE = (
    "Private to this browser session: a link with this data set opens nothing for anyone else until you share it."
)


def _streamlit_session() -> str | None:
    ctx = get_script_run_ctx(suppress_warning=True)
    return ctx.session_id if ctx is not None else None


datastore.use_sessions(_streamlit_session)


def train_link(task: str, options: dict) -> str:
    """The Train page's address with this task and its data set."""
    base = ""
    try:
        base = (st.context.url or "").rsplit("/", 1)[0]
    except Exception:  # noqa: BLE001 - no browser context (AppTest): a relative link
        base = ""
    query = urlencode({"task": task, "task_options": json.dumps({task: options}, separators=(",", ":"))})
    return f"{base + '/' if base else ''}train?{query}"


def _share(key: str) -> None:
    try:
        datastore.share(key)
    except LstmVizError as error:
        st.session_state["share_error"] = str(error)


def share_controls(dataset: datastore.Dataset, task: str, widget_key: str) -> None:
    """Under a validated upload: private by default; a button to share it, then the link and what sharing means."""
    current = dataset
    try:
        current = datastore.get(dataset.key)
    except LstmVizError:
        pass
    if st.session_state.get("share_error"):
        st.warning(st.session_state.pop("share_error"))
    if current.shared:
        st.info(SHARED_NOTICE, icon=":material/share:")
        st.code(train_link(task, {"dataset": current.key}), language=None, wrap_lines=True)
        return
    st.caption(PRIVATE_NOTICE)
    st.button("Share this data", key=widget_key, icon=":material/share:", on_click=_share, args=(current.key,),
              help="Makes a link to the Train page with this data set that opens it for anyone who has it.")

