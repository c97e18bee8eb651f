"""Gestures: draw a shape and watch the trained networks read it point by point."""
import streamlit as st

from lstm_viz.ui import page_schemas, page_url, state
from lstm_viz.ui.gestures import sections

state.init_session()
page = page_url.sync(page_schemas.GESTURES)

st.title("Gestures")
st.caption("Draw one of the 16 unistrokes of Wobbrock, Wilson & Li's $1 recognizer (UIST 2007) and watch an RNN, a "
           "GRU and an LSTM read it point by point: what each believes as the stroke grows, and the gates and memory "
           "of one unit coloured along the stroke itself.")
page.warn()

readers = sections.pick_readers()
drawing = sections.canvas_section()
sections.reading_sections(readers, drawing)
