"""Keep a page's view settings in the address bar (st.query_params), so a copied link reproduces the view.

Each page calls `sync_with_url(defaults)` once at its top, before its widgets, with its own session-state keys and
their default values; the widgets then use those keys without `value=`. On a page's first run in a session the URL
fills the state (parsed with the default's type, bad values ignored and their keys returned, so the page can warn);
on every run the state is written back, so the address always shows the current view.

Types follow the default: bool (1/0), int, float, str, list/tuple (comma-separated), dict (compact JSON), None (JSON).
Every value's size is checked before it is parsed. `valid={key: predicate}`, else the key's rule in
lstm_viz/ui/url_rules.py (one place for every page's keys), rejects parsed values the page's widgets could not show
(out of range, unknown option); the page warns, and the widget keeps its default.
A page's keys are removed from the address on other pages, and a key survives a visit to a page without its
widget (Streamlit drops the state of widgets that were not drawn in a run).
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import urlencode

import streamlit as st

from lstm_viz.rules import checks
from lstm_viz.rules.errors import ConfigError

log = logging.getLogger(__name__)

_LOADED_KEY = "_url_loaded_pages"
_SHADOW_KEY = "_url_values"
# Every page's keys seen by this server, to take one page's settings out of another page's address.
_PAGE_KEYS: dict[str, frozenset[str]] = {}
# Every page's defaults and own rules seen by this server: what the fuzz tests feed random values to.
PAGE_DEFAULTS: dict[str, dict[str, Any]] = {}
PAGE_RULES: dict[str, dict[str, Callable[[Any], bool]]] = {}

# Sizes checked before a value is parsed: the longest text a page's widget accepts, a list no widget offers, a
# JSON value as deep as our own (task_options nests 2 deep); 5,000 '[' used to reach json's recursion limit.
MAX_VALUE_CHARS = checks.MAX_TEXT_CHARS
MAX_LIST_ITEMS = 64
MAX_ITEM_CHARS = checks.MAX_NAME_CHARS
MAX_JSON_DEPTH = 3
_INTEGER = re.compile(r"[+-]?[0-9]{1,18}")
_REAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")


def _parse(text: str, default: Any) -> Any:
    """The URL text read with the default's type; ValueError when it is not one (or too long to be one)."""
    if not isinstance(text, str) or len(text) > MAX_VALUE_CHARS:
        raise ValueError("too long")
    if isinstance(default, bool):
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(text)
    if isinstance(default, int):
        if not _INTEGER.fullmatch(text.strip()):
            raise ValueError(text)
        return int(text)
    if isinstance(default, float):
        if not _REAL.fullmatch(text.strip()):  # no "nan", "inf", "1_0", nor a 2,000-digit number
            raise ValueError(text)
        value = float(text)
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(text)
        return value
    if isinstance(default, (list, tuple)):
        values = [item for item in text.split(",") if item]
        if len(values) > MAX_LIST_ITEMS or any(len(item) > MAX_ITEM_CHARS for item in values):
            raise ValueError("too many or too long items")
        return tuple(values) if isinstance(default, tuple) else values
    if isinstance(default, dict) or default is None:
        try:
            value = checks.bounded_json("value", text, max_chars=MAX_VALUE_CHARS, max_depth=MAX_JSON_DEPTH)
        except ConfigError as error:
            raise ValueError(str(error)) from None
        if isinstance(default, dict) and not isinstance(value, dict):
            raise ValueError(text)
        return value
    return text


def read_query(query: Mapping[str, str], defaults: Mapping[str, Any],
               valid: Mapping[str, Callable[[Any], bool]] | None = None) -> tuple[dict[str, Any], list[str]]:
    """The values `query` gives for `defaults`' keys, each parsed with its default's type and checked by its rule
    (`valid`, else url_rules.RULES); and the keys whose values were refused. No Streamlit: the fuzz tests call it."""
    from .url_rules import RULES

    values, rejected = {}, []
    for key, default in defaults.items():
        if key not in query:
            continue
        try:
            value = _parse(query[key], default)
            rule = (valid or {}).get(key) or RULES.get(key)
            if rule is not None and not rule(value):
                raise ValueError(value)
        except (ValueError, TypeError, OverflowError):
            rejected.append(key)
        except Exception:  # noqa: BLE001 - a rule that cannot judge a value refuses it; a link never breaks a page
            log.warning("URL rule for %s failed on %.60r", key, query[key], exc_info=True)
            rejected.append(key)
        else:
            values[key] = value
    return values, rejected


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (list, tuple)):
        return ",".join(str(item) for item in value)
    if isinstance(value, float):
        return repr(value) if float(f"{value:g}") != value else f"{value:g}"
    if isinstance(value, dict) or value is None:
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return str(value)


def is_loaded(page: str) -> bool:
    """Whether `page` has already read the URL in this session (its first run reads it, later runs only write)."""
    return page in st.session_state.get(_LOADED_KEY, set())


def sync_with_url(defaults: Mapping[str, Any], page: str | None = None, *,
                  valid: Mapping[str, Callable[[Any], bool]] | None = None) -> list[str]:
    """Returns the keys whose URL values could not be used (the page may show a warning)."""
    state = st.session_state
    page = page or ",".join(sorted(defaults))
    _PAGE_KEYS[page] = frozenset(defaults)
    PAGE_DEFAULTS[page], PAGE_RULES[page] = dict(defaults), dict(valid or {})
    loaded = state.setdefault(_LOADED_KEY, set())
    shadow: dict = state.setdefault(_SHADOW_KEY, {})
    rejected: list[str] = []
    if page not in loaded:
        loaded.add(page)
        query = {key: st.query_params[key] for key in defaults if key in st.query_params}
        values, rejected = read_query(query, defaults, valid)
        for key, value in values.items():
            state[key] = value
    changed = {}
    for key, default in defaults.items():
        if key not in state:
            state[key] = shadow.get(key, default)
        shadow[key] = state[key]
        text = _format(state[key])
        if st.query_params.get(key) != text:
            changed[key] = text
    if changed:
        st.query_params.update(changed)  # one message to the browser, not one per key
    _drop_other_pages_keys(page, defaults)
    return rejected


def _drop_other_pages_keys(page: str, own: Iterable[str]) -> None:
    stale = set().union(*(keys for name, keys in _PAGE_KEYS.items() if name != page)) - set(own)
    for key in stale & set(st.query_params.keys()):
        del st.query_params[key]


def set_flag(key: str, on: bool) -> None:
    """A flag shown in the address only while it is on (e.g. presenter=1), on every page."""
    if on and st.query_params.get(key) != "1":
        st.query_params[key] = "1"
    elif not on and key in st.query_params:
        del st.query_params[key]


def read_flag(key: str) -> bool | None:
    """The flag's value in the address: True, False, or None when absent or unreadable."""
    if key not in st.query_params:
        return None
    try:
        return _parse(st.query_params[key], False)
    except (ValueError, TypeError):
        return None


def current_link() -> str:
    """The address of this view: the page's URL with its query parameters (a relative link when the server does not
    know the browser's address, as in tests)."""
    base = ""
    try:
        base = st.context.url or ""
    except Exception:  # noqa: BLE001 - no browser context (AppTest): a relative link
        base = ""
    query = urlencode(st.query_params.to_dict())
    return f"{base}?{query}" if query else (base or "./")


@dataclass(frozen=True)
class Bounds:
    """A rule for a number in [low, high] (an int when `whole`) that can also say its edges, for the fuzz tests."""
    low: float
    high: float
    whole: bool = False

    def __call__(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, int if self.whole else (int, float)):
            return False
        return self.low <= value <= self.high

    def edges(self) -> list[str]:
        """Address texts at and just past both ends of the range."""
        if self.whole or (isinstance(self.low, int) and isinstance(self.high, int)):
            return [str(v) for v in (self.low, self.high, self.low - 1, self.high + 1)]
        step = max(abs(self.high - self.low) * 1e-3, 1e-9)
        return [repr(float(v)) for v in (self.low, self.high, self.low - step, self.high + step)]


def between(low: float, high: float) -> Callable[[Any], bool]:
    return Bounds(low, high)


def one_of(options: Iterable) -> Callable[[Any], bool]:
    allowed = set(options)
    return lambda value: isinstance(value, str) and value in allowed


def all_of(options: Iterable) -> Callable[[Any], bool]:
    allowed = set(options)
    return lambda values: (isinstance(values, (list, tuple)) and all(isinstance(v, str) and v in allowed for v in values)
                           and len(set(values)) == len(values))
