"""The Best-practice lab's baseline section."""
from __future__ import annotations

import streamlit as st


def section(page) -> None:
    """Draw the baseline experiment: its settings, its run through the scheduler, its result and takeaway."""
    st.info("This experiment is being built.")
