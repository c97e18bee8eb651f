"""The app's pages, as app.py's st.navigation lists them (also called by a page run without app.py, see
lstm_viz.ui.state._leave_legacy_multipage_mode)."""
from __future__ import annotations

import streamlit as st


def app_pages() -> dict[str, list]:
    """{section: its pages}; Home is the default."""
    home = st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)
    train = st.Page("pages/train.py", title="Train", icon=":material/monitoring:")
    import_model = st.Page("pages/import_model.py", title="Import a model", icon=":material/upload_file:")
    inside_cell = st.Page("pages/inside_cell.py", title="Inside the cell", icon=":material/memory:")
    gates_memory = st.Page("pages/gates_memory.py", title="Gates and memory", icon=":material/grid_on:")
    gradient_lab = st.Page("pages/gradient_lab.py", title="Gradient flow lab", icon=":material/trending_down:")
    try_it = st.Page("pages/try_it.py", title="Try it", icon=":material/keyboard:")
    forecast = st.Page("pages/forecast.py", title="Forecasting", icon=":material/show_chart:")
    length_sweep = st.Page("pages/length_sweep.py", title="Length sweep", icon=":material/stacked_line_chart:")
    translate = st.Page("pages/translate.py", title="Translate", icon=":material/translate:")
    deploy_small = st.Page("pages/deploy_small.py", title="Deploy small", icon=":material/compress:")
    lab = st.Page("pages/best_practice_lab.py", title="Best-practice lab", icon=":material/science:")
    gestures = st.Page("pages/gestures.py", title="Gestures", icon=":material/gesture:")
    music = st.Page("pages/music.py", title="Music", icon=":material/music_note:")
    return {
        "": [home, train, import_model],
        "Explore": [inside_cell, gates_memory, gradient_lab, length_sweep],
        "Tasks": [try_it, forecast, translate, gestures, music],
        "For product teams": [deploy_small, lab],
    }


# Set once app.py's navigation has run in this run, taken by the page's init_session: a page that finds none runs
# without app.py.
NAVIGATED_KEY = "_navigated_by_app"


def navigate():
    """app.py's st.navigation: the page to run."""
    page = st.navigation(app_pages())
    st.session_state[NAVIGATED_KEY] = True
    return page


def ran_through_app() -> bool:
    """Whether app.py's navigation chose the page running now. Takes the mark: call it once per run, at the page's
    top (state.init_session does)."""
    return bool(st.session_state.pop(NAVIGATED_KEY, False))
