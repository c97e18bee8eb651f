import logging

import streamlit as st

from lstm_viz.ui import cell_sections, cell_view, state, url_state

log = logging.getLogger(__name__)

state.init_session()
rejected = url_state.sync_with_url(cell_view.DEFAULTS)
ss = st.session_state
# Widgets not drawn in a run lose their values (the sandbox hides the trained view's widgets and back);
# re-assigning makes them plain session state, so a round trip through the other view keeps them.
for key in cell_view.DEFAULTS:
    ss[key] = ss[key]

st.title("Inside the cell")
st.markdown("One time step of a trained cell, number by number: every gate's equation with the real values "
            "substituted, and the cell drawn with lines that carry those values.")
if rejected:
    st.warning(f"Ignored values in the address that do not fit this page: {', '.join(rejected)}.")
if ss["cell_mode"] not in ("trained", "sandbox"):
    ss["cell_mode"] = "trained"
mode = st.radio("View", ["trained", "sandbox"], key="cell_mode", horizontal=True, label_visibility="collapsed",
                format_func={"trained": "Trained model", "sandbox": "Sandbox: one LSTM unit by hand"}.get)

try:
    if mode == "trained":
        cell_sections.trained_view()
    else:
        cell_sections.sandbox_view()
except Exception as exc:  # noqa: BLE001 - a drawing bug must not take the page down
    log.exception("drawing the inside-the-cell page failed")
    st.error(f"Could not draw this step: {type(exc).__name__}: {exc}")
url_state.sync_with_url(cell_view.DEFAULTS)  # again: the values picked for "-1" belong in the address too
