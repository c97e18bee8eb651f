import streamlit as st

from lstm_viz.ui import forecast_view, page_schemas, page_url, state

state.init_session()
page = page_url.sync(page_schemas.FORECAST)

st.title("Forecast and anomalies")
page.warn()
forecast_view.forecast_page()
