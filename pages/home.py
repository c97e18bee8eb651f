import streamlit as st

from lstm_viz.runs.bundled import precomputed_record
from lstm_viz.runs.presets import DEFAULT_PRESET, PRESETS
from lstm_viz.runs.speed import timing_sentence
from lstm_viz.ui import page_schemas, page_url, state

state.init_session()
page_url.sync(page_schemas.HOME)  # no settings of its own: the address is just the page (and presenter mode)

headline = PRESETS[DEFAULT_PRESET]

st.title("LSTM Explorer")
st.markdown(
    "#### Why can an LSTM remember what a plain RNN forgets?\n"
    "Train a vanilla RNN, a GRU and an LSTM **side by side, on the same batches**, and watch them live: "
    "the test error against the error of a model with no memory, how much gradient reaches each earlier "
    "time step, and every gate of the LSTM on fixed examples, refreshed twice a second."
)
left, right = st.columns([3, 2], gap="large")
with left:
    st.markdown(
        f"**The headline experiment: {headline.title.partition(': ')[0].lower()}.** Each step shows a random value and a marker; at the end "
        "the network must output the sum of the two marked values. A network that cannot remember 100 steps "
        "back can only guess the average (MSE 1/6, the *no-memory baseline*). "
        f"{headline.description}"
    )
    st.button("▶ Open the vanishing-gradients experiment", type="primary", key="open_headline",
              on_click=state.open_preset, args=(DEFAULT_PRESET,))
    record = precomputed_record(DEFAULT_PRESET)
    # Computed from the shipped run and this server's measured speed: a busy server breaks any fixed figure.
    st.caption((timing_sentence(record) + " " if record is not None else "")
               + "This exact preset ships precomputed, so pressing Start replays that recorded run at once (labelled "
               "as such); change any setting or the seed to train live.")
with right:
    st.markdown(
        "**What to look for**\n"
        "- **Loss:** the LSTM leaves the dashed baseline; the RNN stays on it.\n"
        "- **Gradient flow:** at initialisation both shrink exponentially going back in time. Once the LSTM "
        "learns, its gradient from 50 steps back jumps by orders of magnitude: a live phase transition.\n"
        "- **Gates:** the input gate opens at the marked steps and a few units hold the value in the cell state "
        "with a forget gate near 1. The mean forget gate hides them; the per-unit chart finds them."
    )
st.divider()
st.subheader("Start from a demo")
featured = [preset for preset in PRESETS.values() if preset.featured]
for column, preset in zip(st.columns(len(featured), gap="medium"), featured):
    with column.container(border=True, height="stretch"):
        title, _, detail = preset.title.partition(": ")
        st.markdown(f"**{title}**" + (f"  \n{detail}" if detail else ""))
        st.button("Open", key=f"open_{preset.name}",
                  icon=":material/play_arrow:",
                  on_click=state.open_preset, args=(preset.name,), width="stretch")
        st.caption(preset.card_text)
        st.markdown(f"[Link to share](train?preset={preset.name})", help="This preset on the Train page.")
others = [preset for preset in PRESETS.values() if not preset.featured]
if others:
    st.markdown("**More presets** on the Train page: " + "; ".join(f"*{p.title}*" for p in others) + ".")
