"""Streamlit glue: the only package (with app.py and pages/) allowed to import streamlit.

`state` keeps settings and the Trainer in `st.session_state`; `controls` draws the settings widgets;
`dashboard` draws the live training view; `views` turns Trainer state into figures (cached per checkpoint).
"""
