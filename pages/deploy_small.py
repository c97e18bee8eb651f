"""Deploy small: a trained model made smaller (float16, int8, pruned, ONNX), each variant measured on this CPU."""
import streamlit as st

from lstm_viz.ui import page_schemas, page_url, state
from lstm_viz.ui.deploy import sections

state.init_session()
page = page_url.sync(page_schemas.DEPLOY)

st.title("Deploy small")
st.caption("Can this network run on a small device? Each variant is made with a maintained tool (PyTorch, ONNX, "
           "onnxruntime), saved as a file, and measured here: its size on disk, its metric on the run's test set, "
           "how far its outputs move from float32's, and its latency at batch 1.")
page.warn()
picked = sections.pick_model()
if picked is not None:
    result = sections.result_for(*picked)
    if result is not None:
        sections.tradeoff(result)
        sections.table(result)
        sections.gates(result)
        sections.downloads(result)
