"""LSTM Explorer: watch an LSTM learn next to a vanilla RNN and a GRU. Run with `streamlit run app.py`."""
from lstm_viz.ui import boundary, navigation, page_url, presenter, state

state.init_session(entrypoint=True)
presenter.init()

page = navigation.navigate()
boundary.run_page(page)  # the page's one error boundary: a message and a log entry, never a traceback
page_url.write_back()  # the values the page settled on, in the address
presenter.sidebar_controls()
