import streamlit as st

from lstm_viz.ui.train import controls, dashboard, downloads
from lstm_viz.ui import presenter, state

state.init_session()
from_link = state.opened_from_link()
page = state.sync_settings_with_url()
# A shared link to a finished run opens on its charts and verdict, not on Start. Not in presenter mode: there the
# demo is told step by step from the start, and Start replays the run for it.
if from_link and not presenter.on():
    state.show_finished_run()

st.title("Watch an LSTM learn")
page.warn()
controls.settings_sidebar()
dashboard.start_stop_buttons()
dashboard.live_panel()
downloads.download_section()
