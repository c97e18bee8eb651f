"""Gradient flow lab: how much gradient reaches each step back, why it vanishes, and what changes it."""
import streamlit as st

from lstm_viz.analysis.checkpoints import LATEST
from lstm_viz.ui import gradient_lab_tabs as lab
from lstm_viz.ui import state, url_state

state.init_session()

TABS = lab.TABS
DEFAULTS = {
    "glab_tab": TABS[0], "glab_step": LATEST, "glab_layer": 0, "glab_relative": True, "glab_play": False,
    "glab_example": 0,
    "glab_clamp": 0.95, "glab_clip_arch": "rnn", "glab_clip_opt": "sgd", "glab_clip_steps": 200,
}
# Widgets of tabs that are not open this run would be forgotten; plain session state survives.
for key in DEFAULTS:
    if key in st.session_state:
        st.session_state[key] = st.session_state[key]
rejected = url_state.sync_with_url(DEFAULTS, page="gradient_lab")

explored = state.explored_run()
trainer = explored.trainer
# Values from a URL or an earlier run that do not fit this run fall back to their defaults.
rejected += lab.keep_valid_settings(trainer, DEFAULTS)
url_state.sync_with_url(DEFAULTS, page="gradient_lab")  # the address shows the values actually used
if rejected:
    st.warning(f"Settings that do not fit this run were reset to their defaults: {', '.join(sorted(set(rejected)))}.")

st.title("Gradient flow lab")
lab.run_caption(explored)
step, layer = lab.probe_controls(trainer)
lab.draw_tabs(trainer, step, layer)
