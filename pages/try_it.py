"""Try it: type your own input into a trained network and watch it read, word by word or character by character."""
import streamlit as st

from lstm_viz.ui import page_schemas, page_url, state, text_data
from lstm_viz.ui.try_it import sections

state.init_session()
page = page_url.sync(page_schemas.TRY_IT)

st.title("Try it")
st.caption("Type your own input into a trained network and watch it read, word by word or character by character.")
page.warn()

explored = sections.pick_source()
reader = sections.pick_reader(explored)
sections.reading_sections(reader)

st.divider()
text_data.labelled_text_upload()
