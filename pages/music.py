"""Music: melodies an LSTM writes after the Bach chorales, played and drawn as a piano roll."""
import streamlit as st

from lstm_viz.ui import page_schemas, page_url, state
from lstm_viz.ui.music import sections

state.init_session()
page = page_url.sync(page_schemas.MUSIC)

st.title("Music")
st.caption("A network trained on the soprano melodies of Bach's chorales continues a primer note by note; hear it "
           "beside the real chorale, and see the units that count the notes of a phrase or follow the pitch.")
page.warn()

reader = sections.pick_reader()
picked = sections.pick_primer()
sections.sampling_controls()
if picked is not None:
    sections.melodies(reader, *picked)
st.divider()
sections.cross_entropy_section(reader)
