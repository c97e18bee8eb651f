"""Gestures: draw a shape and watch the trained networks read it point by point."""
import streamlit as st

from lstm_viz.ui import page_schemas, page_url, state

state.init_session()
page = page_url.sync(page_schemas.GESTURES)

st.title("Gestures")
page.warn()
