import streamlit as st

from lstm_viz.ui import state, text_data, try_it_view
from lstm_viz.ui.url_state import sync_with_url

state.init_session()

DEFAULT_SENTENCE = "good food but the service was not great . we went there on a tuesday with my sister ."
DEFAULT_BRACKETS = 'f(a [b c] {"(not a bracket)" d})\nx[{e} (g h)]'
rejected = sync_with_url({
    "try_source": "auto", "try_arch": "lstm", "try_text": DEFAULT_SENTENCE, "try_paste": DEFAULT_BRACKETS,
    "try_temperature": 0.8, "try_sample_length": 300, "try_prompt": "(", "try_seed": 0, "try_feature": "nesting depth",
}, page="try_it")

st.title("Try it")
st.caption("Type your own input into a trained network and watch it read, word by word or character by character.")
if rejected:
    st.warning(f"Ignored values in the address that do not fit this page: {', '.join(rejected)}; their defaults are shown.")

explored = try_it_view.pick_source()
reader = try_it_view.pick_reader(explored)
try_it_view.reading_sections(reader)

st.divider()
text_data.labelled_text_upload()
