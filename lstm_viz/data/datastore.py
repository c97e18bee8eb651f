"""Validated user data, kept in server memory under a key, so a RunConfig names it with a short string
(task_options {"dataset": key}) and the shared cache can key runs by it. Nothing here is ever executed: the store
holds NumPy arrays and plain Python lists that lstm_viz.data.uploads built from parsed text.

Private to the session that uploaded it. A key is derived from the uploading session and the content, so two
sessions that upload identical bytes get two keys, each with its own file name (the content itself is kept once).
Another session that is given the key (in a link) opens nothing, unless the uploader shared the data set
(`share`): then anyone with the key sees its name and its rows. Sessions are told apart by the resolver the UI
installs (`use_sessions`); code outside a session (training threads, the CLI, tests) reads any data set, because a
key only reaches it through a session that was allowed to open it.

Bounded: the oldest data sets are dropped when their content passes MAX_TOTAL_BYTES; a run that names a dropped set
gets a ConfigError asking for the upload again.
"""
from __future__ import annotations

import hashlib
import json
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np

from lstm_viz.rules.errors import ConfigError

MAX_TOTAL_BYTES = 256 * 2**20


class PrivateDataError(ConfigError):
    """The data set exists but belongs to another session, which did not share it."""


@dataclass(frozen=True)
class Dataset:
    key: str
    kind: str  # e.g. "series", "labelled-text", "text"
    name: str  # what the uploader called it (the file name), for captions
    content: dict[str, Any]  # arrays and lists; treat as read-only
    owner: str | None = None  # the uploading session; None outside a session
    shared: bool = False  # the uploader pressed "Share this data": anyone with the key may open it
    content_id: str = ""

    @property
    def size_bytes(self) -> int:
        return content_size(self.content)


def content_size(content: dict[str, Any]) -> int:
    total = 0
    for value in content.values():
        total += value.nbytes if isinstance(value, np.ndarray) else sys.getsizeof(json.dumps(value, default=str))
    return total


_lock = threading.Lock()
_datasets: OrderedDict[str, Dataset] = OrderedDict()
_session: Callable[[], str | None] = lambda: None


def use_sessions(resolver: Callable[[], str | None]) -> None:
    """Install how to tell the current session (the UI passes Streamlit's session id; None outside a session)."""
    global _session
    _session = resolver


def current_session() -> str | None:
    return _session()


def content_key(kind: str, content: dict[str, Any]) -> str:
    digest = hashlib.sha256(kind.encode())
    for name in sorted(content):
        value = content[name]
        digest.update(name.encode())
        if isinstance(value, np.ndarray):
            digest.update(str(value.dtype).encode() + str(value.shape).encode())
            digest.update(np.ascontiguousarray(value).tobytes())
        else:
            digest.update(json.dumps(value, sort_keys=True, default=str).encode())
    return f"{kind}-{digest.hexdigest()[:16]}"


def _key_for(kind: str, content_id: str, owner: str | None) -> str:
    if owner is None:
        return content_id
    return f"{kind}-{hashlib.sha256(f'{owner}/{content_id}'.encode()).hexdigest()[:16]}"


def put(kind: str, name: str, content: dict[str, Any]) -> Dataset:
    """Store validated data for the current session: the same session and content get the same key (the name of
    the latest upload); identical content from another session gets its own key and keeps its own name."""
    owner = current_session()
    content_id = content_key(kind, content)
    key = _key_for(kind, content_id, owner)
    with _lock:
        # Identical content is held once, whoever uploaded it.
        content = next((d.content for d in _datasets.values() if d.content_id == content_id), content)
        old = _datasets.pop(key, None)
        dataset = Dataset(key=key, kind=kind, name=name, content=content, owner=owner,
                          shared=old.shared if old is not None else False, content_id=content_id)
        _datasets[key] = dataset
        while _stored_bytes() > MAX_TOTAL_BYTES and len(_datasets) > 1:
            _datasets.popitem(last=False)
        return dataset


def _stored_bytes() -> int:
    unique = {d.content_id: d for d in _datasets.values()}
    return sum(d.size_bytes for d in unique.values())


def may_open(dataset: Dataset, session: str | None) -> bool:
    return dataset.shared or session is None or dataset.owner is None or dataset.owner == session


def get(key: str, kind: str | None = None) -> Dataset:
    with _lock:
        dataset = _datasets.get(key)
        if dataset is not None:
            _datasets.move_to_end(key)
    if dataset is None:
        raise ConfigError("that uploaded data is no longer on the server (it restarted or made room); upload it again")
    if not may_open(dataset, current_session()):
        raise PrivateDataError(
            "the data set in this link was uploaded in another browser session and has not been shared, so it "
            "stays private to that session. Upload the file yourself, or ask whoever uploaded it to press "
            "“Share this data” and send the link again"
        )
    if kind is not None and dataset.kind != kind:
        raise ConfigError(f"data set {key} holds {dataset.kind}, not {kind}")
    return dataset


def share(key: str) -> Dataset:
    """Make the current session's data set openable by anyone who has its key (the uploader asked for it)."""
    with _lock:
        dataset = _datasets.get(key)
        if dataset is None:
            raise ConfigError("that uploaded data is no longer on the server (it restarted or made room); upload it again")
        if dataset.owner is not None and dataset.owner != current_session():
            raise PrivateDataError("only the session that uploaded a data set can share it")
        dataset = replace(dataset, shared=True)
        _datasets[key] = dataset
        return dataset


def clear() -> None:
    """For tests."""
    with _lock:
        _datasets.clear()
