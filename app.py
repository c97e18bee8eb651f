"""LSTM Explorer: watch an LSTM learn next to a vanilla RNN and a GRU. Run with `streamlit run app.py`."""
import streamlit as st

from lstm_viz.ui import boundary, page_url, presenter, state

state.init_session(entrypoint=True)
presenter.init()

home = st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)
train = st.Page("pages/train.py", title="Train", icon=":material/monitoring:")
import_model = st.Page("pages/import_model.py", title="Import a model", icon=":material/upload_file:")
inside_cell = st.Page("pages/inside_cell.py", title="Inside the cell", icon=":material/memory:")
gates_memory = st.Page("pages/gates_memory.py", title="Gates and memory", icon=":material/grid_on:")
gradient_lab = st.Page("pages/gradient_lab.py", title="Gradient flow lab", icon=":material/trending_down:")
try_it = st.Page("pages/try_it.py", title="Try it", icon=":material/keyboard:")
forecast = st.Page("pages/forecast.py", title="Forecasting", icon=":material/show_chart:")
length_sweep = st.Page("pages/length_sweep.py", title="Length sweep", icon=":material/stacked_line_chart:")
page = st.navigation({
    "": [home, train, import_model],
    "Explore": [inside_cell, gates_memory, gradient_lab, length_sweep],
    "Tasks": [try_it, forecast],
})
boundary.run_page(page)  # the page's one error boundary: a message and a log entry, never a traceback
page_url.write_back()  # the values the page settled on, in the address
presenter.sidebar_controls()
