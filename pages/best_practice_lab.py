"""Best-practice lab: each practice a product team is told to follow, run as a side-by-side experiment on identical
data, with a takeaway computed from what it measured."""
import streamlit as st

from lstm_viz.ui import page_schemas, page_url, state
from lstm_viz.ui.lab import baseline, lengths, normalisation, overfitting, stacking, tuning

state.init_session()
page = page_url.sync(page_schemas.LAB)

st.title("Best-practice lab")
st.caption("Every practice is an experiment: the same data, with and without it, trained through the server's one "
           "queue. The sentence under each result is computed from the numbers above it.")
page.warn()
SECTIONS = {"overfitting": ("Overfitting", overfitting), "normalisation": ("Normalisation", normalisation),
            "baseline": ("The honest baseline", baseline), "lengths": ("Consistent lengths", lengths),
            "tuning": ("Tuning", tuning), "stacking": ("Stacking", stacking)}
practice = st.segmented_control("Practice", page_schemas.LAB_PRACTICES, key="lab_practice",
                                format_func=lambda name: SECTIONS[name][0]) or page_schemas.LAB_PRACTICES[0]
SECTIONS[practice][1].section(page)
