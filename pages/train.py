import streamlit as st

from lstm_viz.ui import controls, dashboard, downloads, state

state.init_session()
rejected = state.sync_settings_with_url()

st.title("Watch an LSTM learn")
if rejected:
    st.warning("The link's value for " + ", ".join(rejected) + " is not possible here; the defaults are used instead.")
controls.settings_sidebar()
dashboard.start_stop_buttons()
dashboard.live_panel()
downloads.download_section()
