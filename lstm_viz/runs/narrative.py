"""The headline demo told in five steps for presenter mode, each with the numbers of the run on screen.

`headline_stage(trainer)` says which step a run (or its snapshot) has reached and what to point at: the numbers
come from the run itself (test metrics, the gradient reaching the first step), never from a script.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from lstm_viz.core.stopping import RECENT_EVALUATIONS
from lstm_viz.core.trainer import Trainer

STAGE_COUNT = 5
# "The LSTM has found the markers": its test error below this fraction of the no-memory baseline.
LEFT_BASELINE_FRACTION = 0.5


# The chart each step talks about (its `charts.show` key): presenter mode scrolls it into view.
STAGE_CHARTS = {1: None, 2: "loss_chart", 3: "gradient_chart", 4: "loss_chart", 5: "gradient_chart"}


@dataclass(frozen=True)
class Stage:
    index: int  # 1..STAGE_COUNT
    title: str
    text: str  # what the presenter can say, with the run's numbers
    banner: str = ""  # one line for the projected banner, with the number that matters

    @property
    def chart(self) -> str | None:
        return STAGE_CHARTS[self.index]

    @property
    def label(self) -> str:
        return f"Step {self.index} of {STAGE_COUNT}: {self.title}"


def tells_headline(trainer: Trainer | None) -> bool:
    """The narrative is written for the adding problem with an RNN and an LSTM side by side."""
    return trainer is None or tells_headline_settings(trainer.config.task, trainer.config.archs)


def tells_headline_settings(task: str, archs) -> bool:
    """Whether a run of `task` with `archs` is one the narrative is written for (before it exists)."""
    return task == "adding" and {"rnn", "lstm"} <= set(archs)


def gradient_reach(trainer: Trainer, arch: str, checkpoint: int = -1, layer: int = 0) -> float:
    """||dL/dh_1|| / ||dL/dh_T|| at a checkpoint: how much of the last step's gradient reaches the first step."""
    norms = trainer.runs[arch].checkpoints[checkpoint].gradient_flow.grad_norm_per_step[layer]
    return float(norms[0] / norms[-1]) if norms[-1] > 0 else float("nan")


def _power(value: float) -> str:
    if not math.isfinite(value) or value <= 0:
        return "0" if value == 0 else "—"
    return f"1e{math.floor(math.log10(value)):d}"


def _what_the_rnn_does_next(trainer: Trainer) -> str:
    """The RNN's part while the run goes on past the LSTM's solve, as this run's settings decide it."""
    budget = trainer.config.max_steps
    if trainer.config.train_to_budget:
        return f"The RNN trains on to its full budget of {budget:,} steps, to show it is not a matter of time."
    window = RECENT_EVALUATIONS * trainer.config.eval_every
    return (f"The RNN trains on until it has stayed on the baseline for {window} steps (or reaches the budget of "
            f"{budget:,}); then the run ends, its verdict known. “Train to the full budget” would keep it going.")


def headline_stage(trainer: Trainer | None) -> Stage:
    if trainer is None:
        return Stage(1, "the task",
                     "Each of the 100 steps shows a random number and a marker; two steps are marked. At the end the "
                     "network must output the sum of the two marked numbers, seen up to 100 steps ago. A network with "
                     "no memory can only guess the average: that error is the dashed baseline. The RNN and the LSTM "
                     "will train on exactly the same batches. Press Start.",
                     banner="Remember two marked numbers for up to 100 steps, then add them. Press Start.")
    length = trainer.config.length
    rnn, lstm = trainer.runs["rnn"], trainer.runs["lstm"]
    baseline = trainer.baseline
    lstm_metric = lstm.last_metric if lstm.last_metric is not None else baseline
    rnn_metric = rnn.last_metric if rnn.last_metric is not None else baseline
    reach_rnn, reach_lstm = gradient_reach(trainer, "rnn"), gradient_reach(trainer, "lstm")
    if trainer.finished:
        verdict = trainer.verdict()
        return Stage(5, "what it means",
                     f"{verdict} The RNN's gradient from the last step shrinks by a constant factor at every step back, "
                     f"so almost nothing ({_power(reach_rnn)} of it) reaches the first marker and it cannot learn to "
                     "keep it. The LSTM's cell state is updated by addition, scaled by its forget gate: where the gate "
                     "stays near 1 the gradient survives. Scroll down: the input gate opens at the marked steps and a "
                     "few units hold the value in their cell state until the end.",
                     banner=f"LSTM {lstm_metric:.3f}, RNN {rnn_metric:.3f} (baseline {baseline:.3f}). Gradient "
                            f"reaching step 1: LSTM {_power(reach_lstm)}, RNN {_power(reach_rnn)}.")
    if lstm.status == "solved":
        return Stage(4, "the LSTM solved it",
                     f"At step {lstm.solved_step} the LSTM's test error fell below the solved line "
                     f"(MSE {lstm_metric:.3f}); the RNN is at {rnn_metric:.3f}, on the baseline of {baseline:.3f}. "
                     f"Gradient reaching the first of {length} steps: LSTM {_power(reach_lstm)} of the last step's, "
                     f"RNN {_power(reach_rnn)}. {_what_the_rnn_does_next(trainer)}",
                     banner=f"Solved at step {lstm.solved_step}: LSTM {lstm_metric:.3f}, RNN {rnn_metric:.3f} on the "
                            f"baseline of {baseline:.3f}.")
    if lstm_metric < LEFT_BASELINE_FRACTION * baseline:
        return Stage(3, "the LSTM finds the markers",
                     f"The LSTM's test error ({lstm_metric:.3f}) has left the baseline ({baseline:.3f}); the RNN's "
                     f"({rnn_metric:.3f}) has not. Look at the gradient chart: the LSTM's line lifts at the far left, "
                     f"its gradient from {length - 1} steps back is now {_power(reach_lstm)} of the last step's, "
                     f"while the RNN's stays at {_power(reach_rnn)}. This jump is the LSTM learning to keep its "
                     "forget gate open.",
                     banner=f"The LSTM ({lstm_metric:.3f}) leaves the baseline ({baseline:.3f}); its gradient from "
                            f"{length - 1} steps back rises to {_power(reach_lstm)}, the RNN's stays at {_power(reach_rnn)}.")
    initial_rnn, initial_lstm = gradient_reach(trainer, "rnn", 0), gradient_reach(trainer, "lstm", 0)
    return Stage(2, "both start blind",
                 f"Both losses sit on the dashed no-memory baseline ({baseline:.3f}). At initialisation the gradient "
                 f"that reaches the first of {length} steps is {_power(initial_rnn)} of the last step's for the RNN "
                 f"and {_power(initial_lstm)} for the LSTM (its forget gate starts near 0.5): it vanishes for both. "
                 "Watch the LSTM's loss curve and the far left of the gradient chart.",
                 banner=f"Both sit on the no-memory baseline ({baseline:.3f}): the gradient reaching step 1 vanishes "
                        f"({_power(initial_rnn)} for the RNN, {_power(initial_lstm)} for the LSTM).")


def stage_starts(recorded: Trainer) -> dict[int, int]:
    """{stage index: the first training step at which the finished run `recorded` shows that stage}, for the
    stages it reaches (none for a run the narrative is not written for): where presenter mode holds a replay so
    that each step can be talked through. The stage only
    changes where an evaluation, a status or the end is recorded, so only those steps are looked at."""
    from lstm_viz.runs.shared_runs import replay_snapshot  # lazily: keeps this module light

    if not tells_headline(recorded):
        return {}  # e.g. an LSTM beside a Transformer: no stages to hold a replay at
    candidates = sorted({0, recorded.step} | {step for run in recorded.runs.values() for step in run.eval_steps}
                        | {run.steps[-1] for run in recorded.runs.values() if run.steps})
    starts: dict[int, int] = {}
    for step in candidates:
        index = headline_stage(replay_snapshot(recorded, step)).index
        starts.setdefault(index, step)
    return starts
