"""A page's view settings (its PageSchema, lstm_viz/ui/page_schemas.py) in the address bar, read and written back on
every run, so that a copied link reproduces the view and a changed address (a link opened in the same session,
browser back/forward, an edited query) drives the view.

Each page calls `sync(schema)` at its top, before its widgets; app.py calls `write_back()` after the page, so the
address also shows the values the page settled on (a fallback to what the run offers, "-1" resolved). The widgets
use the fields' keys without `value=`.

Where a value comes from, on every run, field by field:
1. a widget change: the key's value in the session differs from the value stored at the end of the last run
   (the user moved the widget, or a callback set it, e.g. a preset picked). It wins over the address: it is the
   user's latest act in this view, while the address of the same run can be one the browser had not yet updated.
2. else the address, when it carries the key with a text this session did not write: a link, back/forward, an
   edited address. The field reads and validates it (lstm_viz/ui/page_state.py, one place for every page); a
   refused text is named in the page's warning and the value stays what it was. A key absent from the address
   says nothing: leaving a page takes its keys out of the address, and coming back keeps the settings.
3. else the value stored at the end of the last run, else the field's default.
The value is then stored in the schemas' own store (`_page_values`, never a widget's key) and assigned to the
widget's key, on every run of every page (each page's sync re-assigns the other pages' stored values too): this one
assignment is why a setting survives runs that do not draw its widget (Streamlit drops the value of a widget not
drawn in a run: another page, a closed tab, the other view of a page).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field as dataclass_field
from typing import Any, Callable, Collection, Mapping
from urllib.parse import urlencode

import streamlit as st

from lstm_viz.ui.page_state import PageSchema, Refused

log = logging.getLogger(__name__)

_STORE_KEY = "_page_values"  # {key: value} at the end of the last run that synced it
_WRITTEN_KEY = "_page_address"  # {key: the text this session last wrote to the address, None once taken out}
_SYNCED_KEY = "_page_synced"  # the schemas synced in this run, for write_back
_VIEW_KEY = "_page_view"  # the PageView of the page running now, for `fit` from the page's view modules
# Every page's schema, to take one page's keys out of another page's address (page_schemas registers them).
_SCHEMAS: dict[str, PageSchema] = {}


def register(*schemas: PageSchema) -> None:
    for schema in schemas:
        _SCHEMAS[schema.name] = schema


@dataclass
class PageView:
    """What `sync` read for one page this run: the keys whose address values it used and the refused ones."""
    schema: PageSchema
    from_address: set[str] = dataclass_field(default_factory=set)
    refused: list[str] = dataclass_field(default_factory=list)
    _slot: Any = None

    def warn(self) -> None:
        """Where the page says so: the page's warning for the refused values (refusals later in the run join it)."""
        self._slot = st.empty()
        self._show()

    def refuse(self, what: str) -> None:
        """A value the page could not use after all (an option this run does not offer), named in the warning."""
        self.refused.append(what)
        self._show()

    def fit(self, key: str, allowed: Collection | Callable[[Any], bool], fallback: Any) -> Any:
        """The run shown offers only some values (its architectures, checkpoints, layers): a value it does not
        offer falls back, before the widget is drawn. A value the address gave this run is named in the warning;
        one left from an earlier run (another architecture's checkpoint) falls back silently."""
        value = st.session_state[key]
        if not (allowed(value) if callable(allowed) else value in allowed):
            if key in self.from_address:
                self.refuse(key)
            st.session_state[key] = value = fallback
        return value

    def _show(self) -> None:
        text = self.schema.warning_text(self.refused)
        if self._slot is not None and text:
            self._slot.warning(text)


def from_address(schema: PageSchema) -> bool:
    """Whether the address carries values for `schema` that this session did not write (a link, back/forward)."""
    written = st.session_state.get(_WRITTEN_KEY, {})
    return any(key in st.query_params and st.query_params[key] != written.get(key) for key in schema.keys)


def sync(schema: PageSchema, apply: Mapping[str, Callable[[Any], None]] | None = None) -> PageView:
    """Read `schema`'s values (see the module docstring), re-seed their widgets, write the address. `apply`:
    {key: what an address value of that key does first} (the Train page's preset sets every other setting, which
    the address's own values for them then override)."""
    state = st.session_state
    store: dict = state.setdefault(_STORE_KEY, {})
    written: dict = state.setdefault(_WRITTEN_KEY, {})
    view = PageView(schema)
    changed_here = {key for key in schema.keys if key in store and key in state and not _same(state[key], store[key])}
    for f in schema.fields:
        text = st.query_params.get(f.key)
        if text is None or f.key in changed_here or text == written.get(f.key):
            continue
        try:
            value = f.read(text, _Current(schema))
        except (Refused, ValueError, TypeError, OverflowError):
            view.refused.append(f.key)
            continue
        except Exception:  # noqa: BLE001 - a validator that cannot judge a value refuses it; a link never breaks a page
            log.warning("validator of %s failed on %.60r", f.key, text, exc_info=True)
            view.refused.append(f.key)
            continue
        if apply and f.key in apply:
            apply[f.key](value)
        state[f.key] = value
        view.from_address.add(f.key)
    for f in schema.fields:
        value = state[f.key] if f.key in state else store.get(f.key, f.default)
        state[f.key] = store[f.key] = value  # the one re-seeding of the widget (module docstring, step 3)
    synced = state.setdefault(_SYNCED_KEY, [])
    if schema.name not in synced:
        synced.append(schema.name)
    _write_address(schema)
    if not schema.shared:
        _keep_other_pages_values(schema)
        _drop_other_pages_keys(schema)
        state[_VIEW_KEY] = view
    return view


def fit(key: str, allowed: Collection | Callable[[Any], bool], fallback: Any) -> Any:
    """PageView.fit for the page running now (its view modules call this rather than carry the PageView)."""
    view = st.session_state.get(_VIEW_KEY)
    if view is None or key not in view.schema.keys:
        raise LookupError(f"{key} is not a setting of the page running now (page_url.sync it first)")
    return view.fit(key, allowed, fallback)


def write_back() -> None:
    """After the page (app.py): the values the page settled on, stored and in the address."""
    state = st.session_state
    store: dict = state.setdefault(_STORE_KEY, {})
    for name in state.pop(_SYNCED_KEY, []):
        schema = _SCHEMAS.get(name)
        if schema is None:
            continue
        for key in schema.keys:
            if key in state:
                store[key] = state[key]
        _write_address(schema)


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


class _Current(Mapping):
    """The page's values as read so far in this run, for a field whose validator depends on another."""

    def __init__(self, schema: PageSchema) -> None:
        self._schema = schema

    def __getitem__(self, key: str) -> Any:
        state = st.session_state
        if key in state:
            return state[key]
        store = state.get(_STORE_KEY, {})
        if key in store:
            return store[key]
        return self._schema.by_key[key].default

    def __iter__(self):
        return iter(self._schema.keys)

    def __len__(self) -> int:
        return len(self._schema.keys)


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - values that cannot compare count as changed
        return False


def _write_address(schema: PageSchema) -> None:
    state, query = st.session_state, st.query_params
    written: dict = state.setdefault(_WRITTEN_KEY, {})
    changed = {}
    for f in schema.fields:
        if f.key not in state:
            continue
        value = state[f.key]
        # A control left empty (a segmented control clicked off) says nothing: the page shows its fallback.
        if (not f.always_in_address and _same(value, f.default)) or (value is None and f.default is not None):
            if f.key in query:
                del query[f.key]
            written[f.key] = None
            continue
        text = f.text(value)
        if query.get(f.key) != text:
            changed[f.key] = text
        written[f.key] = text
    if changed:
        query.update(changed)  # one message to the browser, not one per key


def _keep_other_pages_values(schema: PageSchema) -> None:
    """The other pages' values, re-assigned on this page too. Needed as well as the store: a widget not drawn in a
    run loses its value at the run's end, and Streamlit then answers for its key with an older value it still holds
    under the key (seen after Train -> Home -> Train: the hidden size set before the last change came back); read
    and re-assigned while the widget's own entry still exists, the key holds the latest value."""
    state, store = st.session_state, st.session_state[_STORE_KEY]
    for other in _SCHEMAS.values():
        if other.name == schema.name or other.shared:
            continue
        for key in other.keys:
            if key in store:
                state[key] = store[key] = state[key] if key in state else store[key]


def _drop_other_pages_keys(schema: PageSchema) -> None:
    own = set(schema.keys)
    shared = {key for s in _SCHEMAS.values() if s.shared for key in s.keys}
    stale = {key for s in _SCHEMAS.values() if s.name != schema.name for key in s.keys} - own - shared
    written: dict = st.session_state.setdefault(_WRITTEN_KEY, {})
    for key in stale & set(st.query_params.keys()):
        del st.query_params[key]
        written[key] = None
