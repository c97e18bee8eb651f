"""The one memo of the app's glue: values (figures, traces) built once per SERVER and shared by every session.

Streamlit runs every session's script in one process, each in its own thread, and building a Plotly figure or a
trace is most of the server's CPU per refresh (bench/load.py, profiled with py-spy). So a figure that only depends
on the run it shows and a few settings is keyed by the run's identity (`run_identity`, `run_source`), not by the
session: a classroom exploring the shipped run, or watching one shared training, builds each heatmap once.

A memo is an LRU bounded by its entry count, thread-safe, and builds a key once even when many sessions ask at the
same moment. Values are shared: never mutate what it returns.
"""
from __future__ import annotations

import itertools
import threading
import weakref
from collections import OrderedDict
from typing import Any, Callable, Hashable

import streamlit as st

from lstm_viz.ui import session_run

# Explorer pages: a heatmap figure is 0.1-0.5 MB, a checkpoint's trace of the probe batch a few MB; one view of a
# page is ~6 entries, so this holds the views of several runs.
EXPLORER_MEMO_SIZE = 64


class _Entry:
    """One memoised value; other sessions asking for it while it is built wait for it instead of building it too."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: object = None
        self.failed = False


class SharedMemo:
    """A server-wide LRU memo of at most `max_entries` values."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def _claim(self, key: Hashable) -> tuple[_Entry, bool]:
        """The entry of `key`, made most recent; whether this caller must build it (it was missing)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                return entry, False
            entry = self._entries[key] = _Entry()
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
            return entry, True

    def __call__(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """The value of `key`, built by `build()` if no session has (or is building) it."""
        entry, owner = self._claim(key)
        if not owner:
            entry.done.wait()
            if not entry.failed:
                return entry.value
            return build()  # the first builder failed: this session tries (and shows its own error)
        try:
            entry.value = build()
        except BaseException:
            entry.failed = True
            with self._lock:
                if self._entries.get(key) is entry:
                    del self._entries[key]
            raise
        finally:
            entry.done.set()
        return entry.value

    def get(self, key: Hashable) -> Any:
        """The finished value of `key`, or None (missing, or still being built)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or not entry.done.is_set() or entry.failed:
                return None
            self._entries.move_to_end(key)
            return entry.value

    def put(self, key: Hashable, value: Any) -> None:
        """Store a value computed elsewhere (a scheduler job) as finished."""
        entry = _Entry()
        entry.value = value
        entry.done.set()
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_token_lock = threading.Lock()
_token_counter = itertools.count(1)
# By identity, and gone with the object: a copy of a run (a snapshot) never inherits its source's token.
_tokens: "weakref.WeakKeyDictionary[object, int]" = weakref.WeakKeyDictionary()


def token_of(source: object) -> int:
    """A number for the object `source` itself, the same for as long as it lives, never reused by another."""
    with _token_lock:
        token = _tokens.get(source)
        if token is None:
            token = _tokens[source] = next(_token_counter)
    return token


def run_source(trainer) -> int:
    """What identifies the data of the session's run across sessions: the training it watches (live or its own), the
    recorded run it replays, or else the run object itself (an imported model). A token per such object, so two
    sessions watching the same training or replaying the same recorded run share their figures; snapshots of one
    source at the same step hold the same numbers (histories only grow)."""
    joined = session_run.subscription()
    if joined is not None and joined.replay is not None:
        return token_of(joined.replay.trainer)
    if joined is not None and joined.worker is not None:
        return token_of(joined.worker)
    return token_of(trainer)


def run_identity(explored: session_run.ExploredRun) -> int:
    """The identity of the run an explorer page shows: the shipped run's own object (one per server, whatever the
    session is doing meanwhile, e.g. waiting for a training slot), or the session's run as `run_source` names it."""
    if explored.source == "bundled":
        return token_of(explored.trainer)
    return run_source(explored.trainer)


@st.cache_resource
def _explorer_memo() -> SharedMemo:
    # A cache resource, not a module global: clearing Streamlit's caches (a test, an operator) clears it too.
    return SharedMemo(EXPLORER_MEMO_SIZE)


def explorer_memo(explored: session_run.ExploredRun, key: tuple, build: Callable[[], Any]) -> Any:
    """A value of the explored run that only depends on `key` (an architecture, a checkpoint step, an example, the
    settings): built once per server, shared by every session that explores the same run."""
    return _explorer_memo()((run_identity(explored), *key), build)
