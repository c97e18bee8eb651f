"""The one lookup both registries (architectures, tasks) use, so an unknown name reads the same everywhere."""
from __future__ import annotations

from typing import TypeVar

Entry = TypeVar("Entry")


def lookup(registry: dict[str, Entry], name: str, kind: str) -> Entry:
    try:
        return registry[name]
    except KeyError:
        raise KeyError(f"unknown {kind} {name!r}; known: {', '.join(registry)}") from None
