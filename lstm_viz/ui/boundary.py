"""No traceback reaches a user: one error boundary around the page that app.py runs, and one inside every fragment
(a fragment's rerun runs only its own body, outside the page's boundary).

An error the engine can explain (LstmVizError) is shown with its own message; anything else gets a short message
with a reference that the server log repeats next to the full traceback. Streamlit's control flow (st.rerun,
st.stop, st.switch_page) raises BaseException subclasses, which these `except Exception` clauses let through.
`[client] showErrorDetails = "none"` in .streamlit/config.toml covers what no boundary wraps (widget callbacks
run before the page's script).
"""
from __future__ import annotations

import functools
import logging
import secrets
from contextlib import contextmanager
from typing import Callable, Iterator

import streamlit as st

from lstm_viz.rules.errors import LstmVizError

log = logging.getLogger(__name__)


def unexpected_error_message(reference: str) -> str:
    return (
        "Something went wrong here, and it is not your fault. Reload the page, or go back to Home: your settings are "
        f"kept. If it happens again, tell whoever runs this server the reference {reference}; its log has the details."
    )


def report(error: Exception, where: str) -> None:
    """Show `error` to the user as a message (never a traceback) and log it with the details."""
    if isinstance(error, LstmVizError):
        log.warning("%s: %s: %s", where, type(error).__name__, error)
        st.error(str(error), icon=":material/error:")
        return
    reference = secrets.token_hex(4)
    log.error("unexpected error in %s (reference %s)", where, reference, exc_info=error)
    st.error(unexpected_error_message(reference), icon=":material/error:")


@contextmanager
def error_boundary(where: str) -> Iterator[None]:
    try:
        yield
    except Exception as error:  # noqa: BLE001 - the boundary: anything a page raises becomes a message
        report(error, where)


def fragment(body: Callable | None = None, *, run_every: float | None = None) -> Callable:
    """`st.fragment` whose body runs inside an error boundary; use as `@boundary.fragment(run_every=...)`."""
    def decorate(function: Callable) -> Callable:
        @functools.wraps(function)
        def guarded(*args, **kwargs):
            with error_boundary(function.__qualname__):
                return function(*args, **kwargs)

        return st.fragment(guarded, run_every=run_every)

    return decorate(body) if body is not None else decorate


def run_page(page) -> None:
    """Run the page st.navigation chose inside the error boundary (app.py)."""
    with error_boundary(f"page {getattr(page, 'url_path', '') or 'home'}"):
        page.run()
