"""Validated user data, kept in server memory under a content key, so a RunConfig names it with a short string
(task_options {"dataset": key}) and the shared cache can key runs by it. Nothing here is ever executed: the store
holds NumPy arrays and plain Python lists that lstm_viz.uploads built from parsed text.

Bounded: the oldest data sets are dropped when the total passes MAX_TOTAL_BYTES; a run that names a dropped set
gets a ConfigError asking for the upload again.
"""
from __future__ import annotations

import hashlib
import json
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ConfigError

MAX_TOTAL_BYTES = 256 * 2**20


@dataclass(frozen=True)
class Dataset:
    key: str
    kind: str  # e.g. "series", "labelled-text", "text"
    name: str  # what the user called it (the file name), for captions
    content: dict[str, Any]  # arrays and lists; treat as read-only

    @property
    def size_bytes(self) -> int:
        total = 0
        for value in self.content.values():
            total += value.nbytes if isinstance(value, np.ndarray) else sys.getsizeof(json.dumps(value, default=str))
        return total


_lock = threading.Lock()
_datasets: OrderedDict[str, Dataset] = OrderedDict()


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


def put(kind: str, name: str, content: dict[str, Any]) -> Dataset:
    """Store validated data; the same content gets the same key (and is stored once)."""
    key = content_key(kind, content)
    with _lock:
        if key in _datasets:
            _datasets.move_to_end(key)
            return _datasets[key]
        dataset = Dataset(key=key, kind=kind, name=name, content=content)
        _datasets[key] = dataset
        while sum(d.size_bytes for d in _datasets.values()) > MAX_TOTAL_BYTES and len(_datasets) > 1:
            _datasets.popitem(last=False)
        return dataset


def get(key: str, kind: str | None = None) -> Dataset:
    with _lock:
        dataset = _datasets.get(key)
        if dataset is not None:
            _datasets.move_to_end(key)
    if dataset is None:
        raise ConfigError("that uploaded data is no longer on the server (it restarted or made room); upload it again")
    if kind is not None and dataset.kind != kind:
        raise ConfigError(f"data set {key} holds {dataset.kind}, not {kind}")
    return dataset


def clear() -> None:
    """For tests."""
    with _lock:
        _datasets.clear()
