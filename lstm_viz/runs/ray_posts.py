"""What a Ray worker posts about a training and how a replica rebuilds the training from the posts: each post holds
what changed since the last one (new history entries, new checkpoints, statuses), so a replica's copy of the Trainer
grows exactly as the worker's does and the pages read it as they read a local training (lstm_viz.runs.background).

Nothing here imports Ray: the posts are tested against a Trainer stepped in the test.
"""
from __future__ import annotations

import pickle

from lstm_viz.core.trainer import Checkpoint, Trainer

HISTORY_FIELDS = ("steps", "train_loss", "grad_norm", "eval_steps", "eval_metric", "eval_elapsed")
STATUS_FIELDS = ("status", "status_detail", "solved_step", "best_metric", "evals_since_best")


class PostCursor:
    """How much of a Trainer has been posted: per architecture, history entries, evaluations and checkpoints."""

    def __init__(self):
        self.sent: dict[str, tuple[int, int, int]] = {}

    def delta(self, trainer: Trainer) -> dict:
        """What changed since the last call; the cursor moves on."""
        runs = {}
        for arch, run in trainer.runs.items():
            n, e, c = self.sent.get(arch, (0, 0, 0))
            runs[arch] = {
                **{name: getattr(run, name) for name in STATUS_FIELDS},
                **{name: list(getattr(run, name)[e if name.startswith("eval") else n:]) for name in HISTORY_FIELDS},
                "checkpoints": [(ck.step, dict(ck.state_dict), ck.gradient_flow,
                                 ck.eval_metric) for ck in run.checkpoints[c:]],
            }
            self.sent[arch] = (len(run.steps), len(run.eval_steps), len(run.checkpoints))
        return {"step": trainer.step, "elapsed": trainer.elapsed, "stop_reason": trainer.stop_reason, "runs": runs}


def encode(post: dict) -> bytes:
    return pickle.dumps(post, protocol=pickle.HIGHEST_PROTOCOL)


def decode(blob: bytes) -> dict:
    # Only this app's own workers post to the board (Ray itself pickles every argument between them); no user data.
    return pickle.loads(blob)  # noqa: S301


def apply_delta(trainer: Trainer, post: dict) -> None:
    """Grow `trainer` (built from the same config, without its initial state) by one post."""
    trainer.step, trainer.elapsed, trainer.stop_reason = post["step"], post["elapsed"], post["stop_reason"]
    for arch, changes in post["runs"].items():
        run = trainer.runs[arch]
        for name in STATUS_FIELDS:
            setattr(run, name, changes[name])
        for name in HISTORY_FIELDS:
            getattr(run, name).extend(changes[name])
        for step, state, flow, metric in changes["checkpoints"]:
            run.checkpoints.append(Checkpoint(step=step, state_dict=state, gradient_flow=flow, eval_metric=metric))


def load_latest_weights(trainer: Trainer) -> None:
    """At the end: the copy's live models hold the last checkpoint's weights, as a stored run's do."""
    for run in trainer.runs.values():
        if run.checkpoints:
            run.model.load_state_dict(run.checkpoints[-1].state_dict)
