"""The registry of tasks. Adding a task: one file defining a `Task` instance, one line below."""
from __future__ import annotations

from .adding import ADDING
from .base import Task
from .copy_memory import COPY_MEMORY

TASKS: dict[str, Task] = {task.name: task for task in (ADDING, COPY_MEMORY)}


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        known = ", ".join(TASKS)
        raise KeyError(f"unknown task {name!r}; known: {known}") from None


__all__ = ["TASKS", "Task", "get_task"]
