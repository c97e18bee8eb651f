"""Keep a page's view settings in the address bar (st.query_params), so a copied link reproduces the view.

Each page calls `sync_with_url(defaults)` once at its top, before its widgets, with its own session-state keys and
their default values; the widgets then use those keys without `value=`. On a page's first run in a session the URL
fills the state (parsed with the default's type, bad values ignored with a warning); on every run the state is
written back, so the address always shows the current view.
"""
from __future__ import annotations

import json
from typing import Any, Mapping

import streamlit as st

_LOADED_KEY = "_url_loaded_pages"


def _parse(text: str, default: Any) -> Any:
    if isinstance(default, bool):
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(text)
    if isinstance(default, int):
        return int(text)
    if isinstance(default, float):
        return float(text)
    if isinstance(default, (list, tuple)):
        values = [item for item in text.split(",") if item]
        return type(default)(values) if isinstance(default, tuple) else values
    if default is None:
        return json.loads(text)
    return text


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (list, tuple)):
        return ",".join(str(item) for item in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def sync_with_url(defaults: Mapping[str, Any], page: str | None = None) -> list[str]:
    """Returns the keys whose URL values could not be used (the page may show a warning)."""
    state = st.session_state
    page = page or ",".join(sorted(defaults))
    loaded = state.setdefault(_LOADED_KEY, set())
    rejected = []
    if page not in loaded:
        loaded.add(page)
        for key, default in defaults.items():
            if key in st.query_params:
                try:
                    state[key] = _parse(st.query_params[key], default)
                except (ValueError, TypeError):
                    rejected.append(key)
    for key, default in defaults.items():
        state.setdefault(key, default)
        text = _format(state[key])
        if st.query_params.get(key) != text:
            st.query_params[key] = text
    return rejected
