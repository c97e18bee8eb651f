"""The registry of tasks. Adding a task: one file defining a `Task` instance, one line below."""
from __future__ import annotations

from ..registry import lookup
from .adding import ADDING
from .base import Task
from .brackets import BRACKETS
from .copy_memory import COPY_MEMORY
from .forecast import FORECAST
from .labelled_text import LABELLED_TEXT
from .sentiment import SENTIMENT

TASKS: dict[str, Task] = {
    task.name: task for task in (ADDING, COPY_MEMORY, SENTIMENT, BRACKETS, LABELLED_TEXT, FORECAST)
}


def get_task(name: str) -> Task:
    return lookup(TASKS, name, "task")


__all__ = ["TASKS", "Task", "get_task"]
