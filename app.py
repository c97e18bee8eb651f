"""LSTM Explorer: watch an LSTM learn next to a vanilla RNN and a GRU. Run with `streamlit run app.py`."""
import streamlit as st

from lstm_viz.ui import state

state.init_session(entrypoint=True)

home = st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)
train = st.Page("pages/train.py", title="Train", icon=":material/monitoring:")
gradient_lab = st.Page("pages/gradient_lab.py", title="Gradient flow lab", icon=":material/trending_down:")
st.navigation([home, train, gradient_lab]).run()
