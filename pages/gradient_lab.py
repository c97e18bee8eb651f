"""Gradient flow lab: how much gradient reaches each step back, why it vanishes, and what changes it."""
import streamlit as st

from lstm_viz.ui.gradient_lab import tabs
from lstm_viz.ui import page_schemas, page_url, session_run, state

state.init_session()
page = page_url.sync(page_schemas.GRADIENT_LAB)

explored = session_run.explored_run()
trainer = explored.trainer
tabs.keep_valid_settings(trainer)  # what only this run can say; the fields' validators checked the rest
page.warn()

st.title("Gradient flow lab")
tabs.run_caption(explored)
step, layer = tabs.probe_controls(trainer)
tabs.draw_tabs(trainer, step, layer)
