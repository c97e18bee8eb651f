"""LSTM Explorer: watch an LSTM learn next to a vanilla RNN and a GRU. Run with `streamlit run app.py`."""
import streamlit as st

from lstm_viz.ui import state

state.init_session(entrypoint=True)

home = st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)
train = st.Page("pages/train.py", title="Train", icon=":material/monitoring:")
try_it = st.Page("pages/try_it.py", title="Try it", icon=":material/keyboard:")
st.navigation([home, train, try_it]).run()
