"""Which checkpoint a page shows for a training step: one rule, so every page given the same step (in a link, or
picked on another page) shows the same weights.

The rule: the latest checkpoint at or before the step. An architecture that solved the task early stopped there
and keeps its last checkpoint for every later step; a step between two checkpoints shows the weights the run had
at that step (the earlier checkpoint), never ones it reached only later. A negative step (the pages' "-1") means
the latest; a step before the first checkpoint shows the first.
"""
from __future__ import annotations

from typing import Protocol, Sequence, TypeVar

LATEST = -1  # the pages' "pick for me" value of a step setting: the latest checkpoint


class HasStep(Protocol):
    step: int


CheckpointT = TypeVar("CheckpointT", bound=HasStep)


def checkpoint_at(checkpoints: Sequence[CheckpointT], step: int | None) -> CheckpointT:
    """The latest of `checkpoints` (ascending by step, not empty) at or before `step`; the latest for a negative
    or None step; the first if `step` comes before all of them."""
    if not checkpoints:
        raise ValueError("no checkpoints to choose from")
    if step is None or step < 0:
        return checkpoints[-1]
    earlier = [c for c in checkpoints if c.step <= step]
    return earlier[-1] if earlier else checkpoints[0]


def step_setting(checkpoints: Sequence[HasStep], step: int | None) -> int:
    """The value a page keeps for a step setting after resolving it: LATEST for the latest checkpoint (so a link
    keeps following a run that records more), else the chosen checkpoint's step."""
    chosen = checkpoint_at(checkpoints, step)
    return LATEST if chosen is checkpoints[-1] else chosen.step
