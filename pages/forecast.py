import streamlit as st

from lstm_viz.ui.forecast import sections
from lstm_viz.ui import page_schemas, page_url, state

state.init_session()
page = page_url.sync(page_schemas.FORECAST)

st.title("Forecast and anomalies")
page.warn()
sections.forecast_page()
