"""LSTM Explorer: watch an LSTM learn next to a vanilla RNN and a GRU. Run with `streamlit run app.py`."""
import streamlit as st

from lstm_viz.ui import state

state.init_session(entrypoint=True)

home = st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)
train = st.Page("pages/train.py", title="Train", icon=":material/monitoring:")
forecast = st.Page("pages/forecast.py", title="Forecast and anomalies", icon=":material/timeline:")
st.navigation([home, train, forecast]).run()
