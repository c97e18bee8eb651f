"""Inside the cell: one time step of a trained cell, number by number, or one LSTM unit set by hand."""
import logging

import streamlit as st

from lstm_viz.ui.inside_cell import sections
from lstm_viz.ui import page_schemas, page_url, state

log = logging.getLogger(__name__)

state.init_session()
page = page_url.sync(page_schemas.INSIDE_CELL)

st.title("Inside the cell")
st.markdown("One time step of a trained cell, number by number: every gate's equation with the real values "
            "substituted, and the cell drawn with lines that carry those values.")
page.warn()
mode = st.radio("View", ["trained", "sandbox"], key="cell_mode", horizontal=True, label_visibility="collapsed",
                format_func={"trained": "Trained model", "sandbox": "Sandbox: one LSTM unit by hand"}.get)

try:
    if mode == "trained":
        sections.trained_view()
    else:
        sections.sandbox_view()
except Exception as exc:  # noqa: BLE001 - a drawing bug must not take the page down
    log.exception("drawing the inside-the-cell page failed")
    st.error(f"Could not draw this step: {type(exc).__name__}: {exc}")
