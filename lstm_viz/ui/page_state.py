"""A page's view settings as a table, as TensorFlow Playground's state.ts keeps its own: one `Field` per setting
(its key in the session and in the address, its default, the validator its address text must pass, the widget
that shows it) and one `PageSchema` per page. The tables are in lstm_viz/ui/page_schemas.py; lstm_viz/ui/page_url.py
reads them from the address and writes them back on every run.

No Streamlit here: a field turns address text into a value and back, and says whether a value is one its widget can
show. The fuzz tests call `read_query` directly.

Types follow the default: bool (1/0, also true/false, yes/no, on/off), int, float, str, list or tuple
(comma-separated; items are text unless the field says `items=int`), dict (compact JSON), None (JSON). Every text's
size is checked before it is parsed; the validator then refuses what the widget could not show (out of range,
unknown option, too long). A validator that depends on another setting of the page (the Train page's length on its
task) is `valid_given(value, current)`, `current` being the page's values read so far.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field as dataclass_field
from typing import Any, Callable, Iterable, Mapping

from lstm_viz.rules import checks
from lstm_viz.rules.errors import ConfigError

log = logging.getLogger(__name__)

Validator = Callable[[Any], bool]

# Sizes checked before a value is parsed: the longest text a page's widget accepts, a list no widget offers, a
# JSON value as deep as our own (task_options nests 2 deep); 5,000 '[' used to reach json's recursion limit.
MAX_VALUE_CHARS = checks.MAX_TEXT_CHARS
MAX_LIST_ITEMS = 64
MAX_ITEM_CHARS = checks.MAX_NAME_CHARS
MAX_JSON_DEPTH = 3
_INTEGER = re.compile(r"[+-]?[0-9]{1,18}")
_REAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


class Refused(ValueError):
    """An address text a field does not take: unreadable as its type, or a value its widget could not show."""


def _parse_int(text: str) -> int:
    if not _INTEGER.fullmatch(text.strip()):
        raise Refused(text)
    return int(text)


def parse(text: str, default: Any, items: type = str) -> Any:
    """The address text read with the default's type; Refused when it is not one (or too long to be one)."""
    if not isinstance(text, str) or len(text) > MAX_VALUE_CHARS:
        raise Refused("too long")
    if isinstance(default, bool):
        if text.lower() in _TRUE + _FALSE:
            return text.lower() in _TRUE
        raise Refused(text)
    if isinstance(default, int):
        return _parse_int(text)
    if isinstance(default, float):
        if not _REAL.fullmatch(text.strip()):  # no "nan", "inf", "1_0", nor a 2,000-digit number
            raise Refused(text)
        value = float(text)
        if value != value or value in (float("inf"), float("-inf")):
            raise Refused(text)
        return value
    if isinstance(default, (list, tuple)):
        values = [item for item in text.split(",") if item]
        if len(values) > MAX_LIST_ITEMS or any(len(item) > MAX_ITEM_CHARS for item in values):
            raise Refused("too many or too long items")
        if items is int:
            values = [_parse_int(item) for item in values]
        return tuple(values) if isinstance(default, tuple) else values
    if isinstance(default, dict) or default is None:
        try:
            value = checks.bounded_json("value", text, max_chars=MAX_VALUE_CHARS, max_depth=MAX_JSON_DEPTH)
        except ConfigError as error:
            raise Refused(str(error)) from None
        if isinstance(default, dict) and not isinstance(value, dict):
            raise Refused(text)
        return value
    return text


def format_value(value: Any) -> str:
    """The address text of a value: what `parse` reads back as the same value."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (list, tuple)):
        return ",".join(str(item) for item in value)
    if isinstance(value, float):
        return repr(value) if float(f"{value:g}") != value else f"{value:g}"
    if isinstance(value, dict) or value is None:
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return str(value)


@dataclass(frozen=True)
class Field:
    """One view setting: `key` in the session and in the address, `default`, the `valid` check its address value
    must pass (None only for flags, whose reading is their whole check), and `widget`, the kind of widget drawn
    under the same key (None when no widget has the key: a value set by the page or by another widget)."""
    key: str
    default: Any
    valid: Validator | None = None
    widget: str | None = None
    items: type = str  # a list's items: str, or int
    valid_given: Callable[[Any, Mapping[str, Any]], bool] | None = None
    # False: in the address only while it differs from its default (presenter=1), so a link stays short.
    always_in_address: bool = True

    def read(self, text: str, current: Mapping[str, Any] | None = None) -> Any:
        """The value of `text`, or Refused. `current`: the page's other values, for `valid_given`."""
        value = parse(text, self.default, self.items)
        if self.valid is not None and not self.valid(value):
            raise Refused(self.key)
        if self.valid_given is not None and not self.valid_given(value, current or {}):
            raise Refused(self.key)
        return value

    def text(self, value: Any) -> str:
        return format_value(value)


@dataclass(frozen=True)
class PageSchema:
    """A page's fields, in the order they are read (a field that sets others, the Train page's preset, comes first),
    and the warning the page shows for refused values (`{keys}` is replaced by their names; None: refused silently).
    `shared`: the fields belong to every page (presenter mode) and stay in the address on all of them."""
    name: str
    fields: tuple[Field, ...]
    warning: str | None = None
    shared: bool = False
    path: str | None = None  # the page's file, pages/<name>.py
    by_key: dict[str, Field] = dataclass_field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_key", {f.key: f for f in self.fields})
        if len(self.by_key) != len(self.fields):
            raise ValueError(f"{self.name}: two fields with one key")

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(f.key for f in self.fields)

    @property
    def defaults(self) -> dict[str, Any]:
        return {f.key: f.default for f in self.fields}

    def warning_text(self, refused: Iterable[str]) -> str | None:
        names = list(dict.fromkeys(refused))
        return self.warning.format(keys=", ".join(names)) if self.warning and names else None


def read_query(schema: PageSchema, query: Mapping[str, str],
               current: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], list[str]]:
    """The values `query` gives for the schema's keys, each read by its field (in field order, each later field's
    `valid_given` seeing the earlier values), and the keys whose texts were refused."""
    values: dict[str, Any] = {}
    refused: list[str] = []
    seen = dict(current if current is not None else schema.defaults)
    for f in schema.fields:
        if f.key not in query:
            continue
        try:
            value = f.read(query[f.key], seen)
        except (ValueError, TypeError, OverflowError):
            refused.append(f.key)
        except Exception:  # noqa: BLE001 - a validator that cannot judge a value refuses it; a link never breaks a page
            log.warning("validator of %s failed on %.60r", f.key, query[f.key], exc_info=True)
            refused.append(f.key)
        else:
            values[f.key] = seen[f.key] = value
    return values, refused


# ----- validators: each can say its edges (address texts at and just past its ends), for the fuzz tests -----
@dataclass(frozen=True)
class Bounds:
    """A number in [low, high] (an int when `whole`)."""
    low: float
    high: float
    whole: bool = False

    def __call__(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, int if self.whole else (int, float)):
            return False
        return self.low <= value <= self.high

    def edges(self) -> list[str]:
        if self.whole or (isinstance(self.low, int) and isinstance(self.high, int)):
            return [str(v) for v in (self.low, self.high, self.low - 1, self.high + 1)]
        step = max(abs(self.high - self.low) * 1e-3, 1e-9)
        return [repr(float(v)) for v in (self.low, self.high, self.low - step, self.high + step)]


@dataclass(frozen=True)
class Text:
    max_chars: int

    def __call__(self, value: Any) -> bool:
        return isinstance(value, str) and len(value) <= self.max_chars

    def edges(self) -> list[str]:
        return ["é" * self.max_chars, "x" * (self.max_chars + 1)]


@dataclass(frozen=True)
class OneOf:
    """One of a fixed set of option names (the architectures, the tabs)."""
    options: tuple

    def __call__(self, value: Any) -> bool:
        return isinstance(value, (str, int)) and not isinstance(value, bool) and value in self.options

    def edges(self) -> list[str]:
        return [str(self.options[0]), str(self.options[-1]), "none-of-these", ""]


@dataclass(frozen=True)
class ListOf:
    """Distinct items, each one of `options` (None: any int in [low, high]), at most `max_items`."""
    options: tuple | None = None
    max_items: int = MAX_LIST_ITEMS
    low: int = 0
    high: int = 10**6

    def __call__(self, values: Any) -> bool:
        if not isinstance(values, (list, tuple)) or len(values) > self.max_items or len(set(values)) != len(values):
            return False
        if self.options is not None:
            return all(isinstance(v, str) and v in self.options for v in values)
        return all(isinstance(v, int) and not isinstance(v, bool) and self.low <= v <= self.high for v in values)

    def edges(self) -> list[str]:
        if self.options is not None:
            return [",".join(map(str, self.options[:self.max_items])), str(self.options[0]), "none-of-these", ""]
        return [str(self.low), str(self.high), str(self.low - 1), ",".join(["1"] * 2)]


def whole(low: int, high: int) -> Validator:
    return Bounds(low, high, whole=True)


def real(low: float, high: float) -> Validator:
    return Bounds(low, high)


def one_of(options: Iterable) -> Validator:
    return OneOf(tuple(options))


def name() -> Validator:
    """A name the page looks up among options only the run shown knows (a task feature): text of a name's size."""
    return Text(checks.MAX_NAME_CHARS)


def texts(max_chars: int) -> Validator:
    return Text(max_chars)


@dataclass(frozen=True)
class Digits:
    """Distinct numbers written as text (the options of a multiselect of lengths), at most `max_items`."""
    max_items: int

    def __call__(self, values: Any) -> bool:
        return (isinstance(values, (list, tuple)) and len(values) <= self.max_items and len(set(values)) == len(values)
                and all(isinstance(v, str) and v.isdigit() and v.isascii() and len(v) <= 6 for v in values))

    def edges(self) -> list[str]:
        return ["1", ",".join(str(n) for n in range(1, self.max_items + 1)),
                ",".join(str(n) for n in range(1, self.max_items + 2)), "-1"]
