import streamlit as st

from lstm_viz.ui import forecast_view, state
from lstm_viz.ui.url_state import sync_with_url

state.init_session()
rejected = sync_with_url({"forecast_anomaly_seed": 0, "forecast_detector": "lstm"}, page="forecast")

st.title("Forecast and anomalies")
if rejected:
    st.warning(f"Ignored values in the address that do not fit this page: {', '.join(rejected)}; their defaults are shown.")
forecast_view.forecast_page()
