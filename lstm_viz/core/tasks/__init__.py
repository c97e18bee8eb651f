"""The registry of tasks. Adding a task: one file defining a `Task` instance, one line below.

TASKS holds what a SequenceModel trains on (the Train page, sweeps, the CLI and the model import iterate it);
TRANSLATION_TASKS holds the encoder-decoder tasks (lstm_viz.core.seq2seq), which those consumers cannot train."""
from __future__ import annotations

from lstm_viz.rules.registry import lookup
from lstm_viz.core.tasks.adding import ADDING
from lstm_viz.core.tasks.base import Task
from lstm_viz.core.tasks.brackets import BRACKETS
from lstm_viz.core.tasks.copy_memory import COPY_MEMORY
from lstm_viz.core.tasks.dates import DATES
from lstm_viz.core.tasks.english_french import ENGLISH_FRENCH
from lstm_viz.core.tasks.forecast import FORECAST
from lstm_viz.core.tasks.gestures import GESTURES
from lstm_viz.core.tasks.labelled_text import LABELLED_TEXT
from lstm_viz.core.tasks.sentiment import SENTIMENT
from lstm_viz.core.tasks.translation_base import TranslationTask

TASKS: dict[str, Task] = {
    task.name: task for task in (ADDING, COPY_MEMORY, SENTIMENT, BRACKETS, LABELLED_TEXT, FORECAST, GESTURES)
}


TRANSLATION_TASKS: dict[str, TranslationTask] = {task.name: task for task in (ENGLISH_FRENCH, DATES)}


def get_task(name: str) -> Task:
    return lookup(TASKS, name, "task")


def get_translation_task(name: str) -> TranslationTask:
    return lookup(TRANSLATION_TASKS, name, "translation task")


__all__ = ["TASKS", "TRANSLATION_TASKS", "Task", "TranslationTask", "get_task", "get_translation_task"]
