"""Inside the cell's "same step in the other cells": why another cell is shown at another checkpoint. With the
lstm-vs-transformer preset the Transformer stops at step 175 and the LSTM, shown beside it at its checkpoint 150,
was said to have "solved the task and stopped at step 150" although it trained on to 700."""
from types import SimpleNamespace

from lstm_viz.analysis.checkpoints import checkpoint_at
from lstm_viz.ui.inside_cell.sections import other_checkpoint_note
from tests.test_page_transformer import finished_run  # noqa: F401


def lstm_run(status: str, last_step: int) -> SimpleNamespace:
    return SimpleNamespace(status=status, checkpoints=[SimpleNamespace(step=s) for s in range(0, last_step + 1, 50)])


def test_a_cell_that_trained_on_is_shown_at_its_checkpoint_before_the_step_not_said_to_have_stopped():
    run = lstm_run("solved", 700)
    shown = checkpoint_at(run.checkpoints, 175)
    assert shown.step == 150
    assert other_checkpoint_note(run, shown, 175) == " (its latest checkpoint at or before step 175)"


def test_a_cell_that_stopped_before_the_step_is_said_to_have_stopped_there():
    run = lstm_run("solved", 150)
    shown = checkpoint_at(run.checkpoints, 700)
    assert other_checkpoint_note(run, shown, 700) == " (its last: it solved the task and stopped at step 150)"
    stuck = lstm_run("baseline", 150)
    assert other_checkpoint_note(stuck, checkpoint_at(stuck.checkpoints, 700), 700) == " (its last: it stopped at step 150)"
    assert other_checkpoint_note(run, run.checkpoints[2], 100) == ""


def test_the_page_says_why_the_lstm_beside_an_early_stopped_transformer_is_at_an_earlier_checkpoint(
        monkeypatch, finished_run):  # noqa: F811
    import copy
    import dataclasses

    from tests import app_support

    # As with the preset: the Transformer stopped at a step (4) between two of the LSTM's checkpoints (3 and 6).
    trainer = copy.copy(finished_run)
    trainer.runs = dict(finished_run.runs)
    transformer = copy.copy(finished_run.runs["transformer"])
    first, second = transformer.checkpoints[0], transformer.checkpoints[1]
    transformer.checkpoints = [first, dataclasses.replace(second, step=4)]
    trainer.runs["transformer"] = transformer
    assert [c.step for c in trainer.runs["lstm"].checkpoints] == [0, 3, 6]
    monkeypatch.setattr("lstm_viz.ui.session_run.load_bundled_run", lambda name=None: trainer)
    at = app_support.open_page("pages/inside_cell.py", {"cell_arch": "transformer"}, timeout=120)
    assert not at.exception
    shown = " ".join(m.value for m in at.markdown)
    assert "**LSTM**, checkpoint 3 (its latest checkpoint at or before step 4)" in shown
    assert "stopped at step 3" not in shown
