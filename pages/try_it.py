"""Try it: type your own input into a trained network and watch it read, word by word or character by character."""
import streamlit as st

from lstm_viz.ui import page_schemas, page_url, state, text_data, try_it_view

state.init_session()
page = page_url.sync(page_schemas.TRY_IT)

st.title("Try it")
st.caption("Type your own input into a trained network and watch it read, word by word or character by character.")
page.warn()

explored = try_it_view.pick_source()
reader = try_it_view.pick_reader(explored)
try_it_view.reading_sections(reader)

st.divider()
text_data.labelled_text_upload()
