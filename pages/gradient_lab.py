"""Gradient flow lab: how much gradient reaches each step back, why it vanishes, and what changes it."""
import streamlit as st

from lstm_viz.ui import gradient_lab_tabs as lab
from lstm_viz.ui import page_schemas, page_url, state

state.init_session()
page = page_url.sync(page_schemas.GRADIENT_LAB)

explored = state.explored_run()
trainer = explored.trainer
lab.keep_valid_settings(trainer)  # what only this run can say; the fields' validators checked the rest
page.warn()

st.title("Gradient flow lab")
lab.run_caption(explored)
step, layer = lab.probe_controls(trainer)
lab.draw_tabs(trainer, step, layer)
