import streamlit as st

from lstm_viz.ui import controls, dashboard, downloads, state

state.init_session()

st.title("Watch an LSTM learn")
controls.settings_sidebar()
dashboard.start_stop_buttons()
dashboard.live_panel()
downloads.download_section()
