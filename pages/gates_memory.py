import streamlit as st

from lstm_viz.analysis.checkpoints import LATEST
from lstm_viz.ui import memory_sections as sections
from lstm_viz.ui import memory_traces, memory_view, state
from lstm_viz.ui.url_state import sync_with_url

state.init_session()

URL_DEFAULTS = {
    "gm_arch": "", "gm_step": LATEST, "gm_layer": 0, "gm_source": "test", "gm_example": 1, "gm_probe": 1,
    "gm_text": "",
    "gm_order": "clustered", "gm_pick": "active", "gm_units": [], "gm_state": "cell_state", "gm_search": "feature",
    "gm_feature": "", "gm_span_start": LATEST, "gm_span_end": LATEST, "gm_span_method": "contrast",
    "gm_threshold": 0.3, "gm_compare": True,
}
rejected = sync_with_url(URL_DEFAULTS, page="gates_memory")
memory_view.keep_unshown_settings()

explored = state.explored_run()
st.title("Gates and memory")
st.caption(memory_traces.run_caption(explored))
if rejected:
    st.warning(f"Ignored unreadable values in the address: {', '.join(rejected)}.")

view = sections.pick_view(explored)
sections.heatmaps(view)
sections.trajectories_and_saturation(view)
sections.neuron_search(view)
sections.other_cells(view)

# Values resolved above (the architecture, the feature, the span) go back into the address too.
sync_with_url(URL_DEFAULTS, page="gates_memory")
