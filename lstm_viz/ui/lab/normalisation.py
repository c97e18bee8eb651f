"""The Best-practice lab's normalisation section."""
from __future__ import annotations

import streamlit as st


def section(page) -> None:
    """Draw the normalisation experiment: its settings, its run through the scheduler, its result and takeaway."""
    st.info("This experiment is being built.")
