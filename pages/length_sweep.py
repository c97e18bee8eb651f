import streamlit as st

from lstm_viz.ui import page_schemas, page_url, state, sweep_state, sweep_view

state.init_session()
page = page_url.sync(page_schemas.LENGTH_SWEEP)
sweep_state.normalise_settings(page)

st.title("Length sweep: how far back can each cell remember?")
st.caption(
    "Each architecture trains from scratch with the same small budget at every sequence length; the chart shows "
    "its final test error against the length, next to the no-memory baseline and what papers report."
)
page.warn()
sweep_view.settings_sidebar()
sweep_view.start_stop()
sweep_view.live_panel()
