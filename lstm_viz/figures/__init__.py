"""Plotly figures: plain data in, go.Figure out, no Streamlit."""
