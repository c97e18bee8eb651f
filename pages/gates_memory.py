"""Gates and memory: every gate and state of one example as heatmaps in one unit order, the units that carry its
memory, and the neuron search (as in LSTMVis)."""
import streamlit as st

from lstm_viz.ui.gates_memory import attention, sections
from lstm_viz.ui.gates_memory import traces
from lstm_viz.ui import page_schemas, page_url, session_run, state

state.init_session()
page = page_url.sync(page_schemas.GATES_MEMORY)

explored = session_run.explored_run()
st.title("Gates and memory")
st.caption(traces.run_caption(explored))
page.warn()

view = sections.pick_view(explored)
sections.heatmaps(view)
if attention.is_transformer(view):
    attention.recurrence_note(view)
    attention.attention_maps(view)
sections.trajectories_and_saturation(view)
sections.neuron_search(view)
sections.other_cells(view)
