"""Music: melodies an LSTM writes after the Bach chorales, played and drawn as a piano roll."""
import streamlit as st

from lstm_viz.ui import page_schemas, page_url, state

state.init_session()
page = page_url.sync(page_schemas.MUSIC)

st.title("Music")
page.warn()
