"""LSTM Explorer: watch an LSTM learn next to a vanilla RNN and a GRU. Run with `streamlit run app.py`."""
import streamlit as st

from lstm_viz.ui import presenter, state

state.init_session(entrypoint=True)
presenter.init()

home = st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)
train = st.Page("pages/train.py", title="Train", icon=":material/monitoring:")
st.navigation([home, train]).run()
presenter.sidebar_controls()
