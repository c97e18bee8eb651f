"""Typed checks every way into the app shares (the UI, a URL, an imported file, a shipped run, the CLI, a script).

Each check names the setting, says what was wrong and what would be accepted, and raises ConfigError. The ranges
themselves live beside the dataclass they bound (lstm_viz.core.model, lstm_viz.core.trainer); this module only knows how to
check a value against one. Hand-written rather than pydantic: the cross-field rules (length by task, inputs by task,
compute budget) need code anyway, and the dataclasses stay the one definition (measured in bench/fuzz.py's notes).

`bounded_json` parses untrusted JSON only after its size and nesting depth are known to be small: CPython's json
recurses once per level, so 5,000 '[' raised RecursionError, and a long text costs time and memory before any
check could run.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any, Iterable

import numpy as np

from lstm_viz.rules.errors import ConfigError

MAX_NAME_CHARS = 64  # a task, architecture, optimizer or option name
MAX_TEXT_CHARS = 2000  # any other string setting (the longest a text widget accepts)
MAX_JSON_DEPTH = 8  # our own configs nest 3 deep
MAX_JSON_CHARS = 64 * 1024  # our own configs are well under 2 kB

# Unrolled ("normal* (special normal*)*"): the plain alternation kept a backtracking mark per character, 75 MB and
# 0.24 s for a 660 kB string of escaped quotes; this form takes 0.1 s and far less memory for the same.
# An unterminated string matches to the end of the text, so no match ever fails: a failing one was retried from every
# later quote, quadratic (5.7 s for a 49 kB header cut inside a string of escaped quotes).
_STRING_LITERAL = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*\\?(?:"|\Z)', re.DOTALL)


def _shown(value: Any) -> str:
    """The value as the message quotes it, never more than a line (a 5,000-character string shown whole is noise)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def whole_number(name: str, value: Any, low: int, high: int) -> int:
    """An int in [low, high]: not a bool, not 6.0, not a string of digits."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be between {low:,} and {high:,}, a whole number (got {_shown(value)}, "
                          f"a {type(value).__name__})")
    if not low <= value <= high:
        shown = f"a {len(str(abs(value)))}-digit number" if abs(value) > 10**15 else f"{value:,}"
        raise ConfigError(f"{name} must be between {low:,} and {high:,} (got {shown})")
    return value


def real_number(name: str, value: Any, low: float, high: float, *, below_high: bool = False) -> float:
    """A finite int or float in [low, high] (or [low, high) with below_high); a bool is not a number here."""
    interval = f"in [{low:g}, {high:g})" if below_high else f"between {low:g} and {high:g}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} must be {interval}, a number (got {_shown(value)}, a {type(value).__name__})")
    if isinstance(value, int) and abs(value) > 2**53:
        raise ConfigError(f"{name} must be {interval} (got a {len(str(abs(value)))}-digit number)")
    if not math.isfinite(value) or not low <= value <= high or (below_high and value == high):
        raise ConfigError(f"{name} must be {interval} (got {value:g})")
    return float(value)


def flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false (got {_shown(value)})")
    return value


def text(name: str, value: Any, max_chars: int = MAX_TEXT_CHARS) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be text (got {_shown(value)}, a {type(value).__name__})")
    if len(value) > max_chars:
        raise ConfigError(f"{name} may be at most {max_chars:,} characters long (got {len(value):,})")
    return value


def one_of(name: str, value: Any, choices: Iterable[str]) -> str:
    choices = list(choices)
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)} (got {_shown(value)})")
    return value


def json_depth(data: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text, without parsing it: string literals (which may
    hold brackets) are blanked first, then the running count of openers minus closers is taken in NumPy (a 1 MB
    header of brackets in about 10 ms; a Python loop over it took 0.3 s)."""
    stripped = _STRING_LITERAL.sub(b'""', data) if b'"' in data else data
    codes = np.frombuffer(stripped, dtype=np.uint8)
    steps = ((codes == ord("[")) | (codes == ord("{"))).astype(np.int32)
    steps -= (codes == ord("]")) | (codes == ord("}"))
    return int(np.cumsum(steps).max(initial=0))


def bounded_json(name: str, data: str | bytes, *, max_chars: int = MAX_JSON_CHARS, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """json.loads, after checking the text's length and nesting depth (ConfigError naming `name` otherwise)."""
    if isinstance(data, str):
        if len(data) > max_chars:
            raise ConfigError(f"{name} is {len(data):,} characters long; at most {max_chars:,} are accepted")
        raw = data.encode("utf-8", "surrogatepass")
    elif isinstance(data, (bytes, bytearray)):
        raw = bytes(data)
        if len(raw) > max_chars:
            raise ConfigError(f"{name} is {len(raw):,} bytes long; at most {max_chars:,} are accepted")
    else:
        raise ConfigError(f"{name} must be JSON text (got {_shown(data)})")
    depth = json_depth(raw)
    if depth > max_depth:
        raise ConfigError(f"{name} nests {depth:,} levels deep; "
                          f"at most {max_depth} are accepted")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        raise ConfigError(f"{name} is not valid JSON ({str(error)[:80]})") from None
