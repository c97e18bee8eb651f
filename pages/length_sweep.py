import streamlit as st

from lstm_viz.ui import page_schemas, page_url, state
from lstm_viz.ui.length_sweep import measured, sweep_state, sections

state.init_session()
page = page_url.sync(page_schemas.LENGTH_SWEEP)
sweep_state.normalise_settings(page)

st.title("Length sweep: how far back can each cell remember?")
st.caption(
    "Each architecture trains from scratch with the same small budget at every sequence length; the chart shows "
    "its final test error against the length, next to the no-memory baseline and what papers report."
)
page.warn()
sections.settings_sidebar()
sections.start_stop()
sections.live_panel()
measured.cost_section()
measured.generalisation_section()
