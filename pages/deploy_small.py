"""Deploy small: a trained model made smaller (float16, int8, pruned, ONNX), each variant measured on this CPU."""
import streamlit as st

from lstm_viz.ui import page_schemas, page_url, state

state.init_session()
page = page_url.sync(page_schemas.DEPLOY)

st.title("Deploy small")
page.warn()
st.info("This page is being built.")
