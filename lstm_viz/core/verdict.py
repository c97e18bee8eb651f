"""The verdict of a training run in the user's terms: one sentence per cell saying where it got and why it ended.
Read from a Trainer's state (lstm_viz.core.trainer); which cell stops when is lstm_viz.core.stopping's rule."""
# The functions take the Trainer and its ArchRun without importing their module: the Trainer calls them, and the
# import would be a cycle.
from __future__ import annotations


def verdict(trainer) -> str:
    """One sentence per cell: where it got, and why it ended, in the user's terms."""
    runs = sorted(trainer.runs.values(), key=lambda run: run.status == "baseline")  # those refer to the others
    sentences = [sentence for sentence in (cell_verdict(trainer, run) for run in runs) if sentence]
    return " ".join(sentence + "." for sentence in sentences)


def cell_verdict(trainer, run) -> str:
    """The sentence of one cell; empty when it was never evaluated."""
    if run.status == "diverged":
        return f"{run.label} diverged: {run.status_detail}"
    if run.solved_step is not None:
        return _solved_verdict(trainer, run)
    if run.last_metric is None:
        return ""
    place = metric_place(trainer, run.last_metric)
    if run.status == "baseline":
        return f"{run.label} {run.status_detail}"
    if run.status == "budget":
        budget = trainer.config.max_steps
        return f"{run.label} trained the whole budget of {budget:,} step{'s' if budget != 1 else ''} and {place}"
    if run.status == "plateaued":
        return f"{run.label} {place}; it {run.status_detail}"
    if run.status == "stopped":
        return f"{run.label} {place}, then was {run.status_detail}"
    return f"{run.label} {place}"


def _solved_verdict(trainer, run) -> str:
    ended_at = run.steps[-1] if run.steps else trainer.step
    solved_metric = run.eval_metric[run.eval_steps.index(run.solved_step)]
    final = run.last_metric
    # The metrics above the charts show the final value: say it too when training went on after solving.
    later = (f", {final:.3f} at the end" if final is not None and run.eval_steps[-1] != run.solved_step
             and f"{final:.3f}" != f"{solved_metric:.3f}" else "")
    text = (f"{run.label} {trainer.task.solved_phrase(trainer.config.length)} at step {run.solved_step} "
            f"({trainer.task.metric_name} {solved_metric:.3f}{later})")
    if run.status == "budget" and ended_at > run.solved_step:
        text += f", then trained on to the step budget of {trainer.config.max_steps:,}"
    elif run.status == "plateaued":
        text += f", then {run.status_detail}"
    elif run.status == "stopped":
        text += f", then was {run.status_detail}"
    return text


def metric_place(trainer, value: float) -> str:
    """Where a metric stands against the baseline, e.g. "stayed at 0.170, the no-memory baseline"."""
    baseline, baseline_name = trainer.baseline, trainer.task.baseline_name
    # Judged on the way from the best possible value to the baseline: for a language model the floor (the
    # language's own entropy) is far above 0, and 93% of the baseline can be most of the way to the floor.
    floor = trainer.metric_floor
    relative = (value - floor) / (baseline - floor)
    if relative > 1.1:
        return f"ended at {value:.3f}, worse than the {baseline_name} {baseline:.3f}"
    if relative >= 0.9:
        return f"stayed at {value:.3f}, the {baseline_name}"
    if floor == 0:
        return f"reached {value:.3f} ({value / baseline:.0%} of the {baseline_name} {baseline:.3f}) without solving it"
    return (f"reached {value:.3f}, {1 - relative:.0%} of the way from the {baseline_name} {baseline:.3f} to the "
            f"best possible {floor:.3f}, without solving it")
