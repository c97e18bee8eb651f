"""Presenter mode (`?presenter=1` or the sidebar toggle): larger type and charts for a projector, the advanced
settings hidden, and a short narrative for each step of the headline demo. Also the "copy link" control."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from . import url_state

KEY = "presenter"
# On a projector at the back of a room: about 1.35x the normal type, charts taller in proportion.
FONT_SCALE = 1.35
CHART_FONT_SIZE = 17
CHART_HEIGHT_SCALE = 1.3
_STYLE = """
<style>
html { font-size: 19px; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li { font-size: 1.1rem; }
[data-testid="stMetricValue"] { font-size: 2.4rem; }
[data-testid="stCaptionContainer"] { font-size: 0.95rem; }
</style>
"""


def init() -> None:
    """Once per run, before the page draws (app.py): the URL flag switches presenter mode on for the session."""
    state = st.session_state
    if "_presenter_url_read" not in state:
        state["_presenter_url_read"] = True
        flag = url_state.read_flag(KEY)
        if flag is not None:
            state[KEY] = flag
    state.setdefault(KEY, False)
    state[KEY] = state[KEY]  # keeps the toggle's value on pages drawn before the toggle exists
    if state[KEY]:
        st.html(_STYLE)


def on() -> bool:
    return bool(st.session_state.get(KEY, False))


def sidebar_controls() -> None:
    """The presenter toggle and the copy-link control, at the foot of the sidebar (after the page has written its
    settings into the address, so the link is this view's)."""
    with st.sidebar:
        st.toggle("Presenter mode", key=KEY,
                  help="Larger type and charts, advanced settings hidden, and a narrative for each step of the "
                       "headline demo. In a link: add ?presenter=1.")
        url_state.set_flag(KEY, on())
        with st.popover(":material/link: Copy link", width="stretch",
                        help="A link to exactly this view: page, settings and presenter mode."):
            st.caption("Copy it with the icon at the right of the box, or from the address bar: it is the same.")
            st.code(url_state.current_link(), language=None, wrap_lines=True)


def figure(fig: go.Figure) -> go.Figure:
    """The chart enlarged for a projector in presenter mode (a copy: memoised figures stay as they are)."""
    if not on():
        return fig
    enlarged = go.Figure(fig)
    height = fig.layout.height
    enlarged.update_layout(font_size=CHART_FONT_SIZE, title_font_size=CHART_FONT_SIZE + 4,
                           height=int(height * CHART_HEIGHT_SCALE) if height else 560)
    return enlarged
