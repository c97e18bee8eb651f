import streamlit as st

from lstm_viz.ui import state, sweep_state, sweep_view
from lstm_viz.ui.url_state import sync_with_url

state.init_session()
sweep_state.restore_settings()
rejected = sync_with_url(sweep_state.DEFAULTS, page="length_sweep")
dropped = sweep_state.normalise_settings()

st.title("Length sweep: how far back can each cell remember?")
st.caption(
    "Each architecture trains from scratch with the same small budget at every sequence length; the chart shows "
    "its final test error against the length, next to the no-memory baseline and what papers report."
)
if rejected or dropped:
    st.warning("Some settings in the link could not be used and were reset: " + ", ".join(rejected + dropped) + ".")
sweep_view.settings_sidebar()
sweep_state.remember_settings()
sweep_view.start_stop()
sweep_view.live_panel()
