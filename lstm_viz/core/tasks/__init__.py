"""The registry of tasks. Adding a task: one file defining a `Task` instance, one line below."""
from __future__ import annotations

from lstm_viz.rules.registry import lookup
from lstm_viz.core.tasks.adding import ADDING
from lstm_viz.core.tasks.base import Task
from lstm_viz.core.tasks.brackets import BRACKETS
from lstm_viz.core.tasks.copy_memory import COPY_MEMORY
from lstm_viz.core.tasks.forecast import FORECAST
from lstm_viz.core.tasks.labelled_text import LABELLED_TEXT
from lstm_viz.core.tasks.sentiment import SENTIMENT

TASKS: dict[str, Task] = {
    task.name: task for task in (ADDING, COPY_MEMORY, SENTIMENT, BRACKETS, LABELLED_TEXT, FORECAST)
}


def get_task(name: str) -> Task:
    return lookup(TASKS, name, "task")


__all__ = ["TASKS", "Task", "get_task"]
