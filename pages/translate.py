"""Translate: an encoder-decoder with attention beside one without, on a sentence you type."""
import streamlit as st

from lstm_viz.ui import page_schemas, page_url, state
from lstm_viz.ui.translate import sections

state.init_session()
page = page_url.sync(page_schemas.TRANSLATE, apply={"tr_task": sections.task_from_address})

st.title("Translate")
st.caption("Two LSTM encoder-decoders (or GRUs you train here) read your sentence: one looks back at every source "
           "word while it writes (attention), the other only gets the encoder's final state.")
page.warn()
sections.translate_page()
