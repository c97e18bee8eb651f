"""Glue of the "Gates and memory" page: the settings it keeps and how an example is named in memo keys. The view a
run of the page shows and the memos of its traces are in memory_traces.py, its sections in memory_sections.py (this
module imports no run state, so the URL rules can read its ranges)."""
from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

from lstm_viz.analysis import memory

SETTING_PREFIX = "gm_"
THRESHOLD_RANGE = (0.0, 10.0)  # "on" above this, in the span search (the widget and the URL rule read it)
TRAJECTORY_UNITS = 6
SEARCH_UNITS = 6
PICKS = {"active": "most active", "feature": "most correlated with the feature", "hand": "by hand"}
SEARCHES = {"feature": "a task feature", "span": "a span of this example"}


def keep_unshown_settings() -> None:
    """Streamlit drops the value of a widget that a run does not draw (the typed text while a test example is
    shown); re-assigning keeps every setting as plain session state, so it survives until the widget is drawn
    again."""
    ss = st.session_state
    for key in [k for k in ss.keys() if str(k).startswith(SETTING_PREFIX)]:
        ss[key] = ss[key]


def keep_in(key: str, options: list, fallback) -> None:
    """A value from the URL or an earlier run that this run does not offer falls back before the widget exists."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = fallback


def example_key(example: memory.Example) -> str:
    """Inputs and tokens: two typed texts whose unknown characters encode alike still differ in what is shown."""
    digest = hashlib.sha1(np.ascontiguousarray(example.inputs).tobytes())
    digest.update("\x00".join(example.tokens or []).encode())
    return digest.hexdigest()[:16]
