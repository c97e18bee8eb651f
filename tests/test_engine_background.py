"""Background training: same result as training in the foreground, readers see consistent snapshots."""
import threading
import time
from dataclasses import replace

from lstm_viz.background import BackgroundTraining
from lstm_viz.trainer import RunConfig, Trainer

SMALL = RunConfig(task="adding", length=12, archs=("rnn", "lstm"), hidden_size=8, batch_size=16,
                  max_steps=60, eval_every=10, eval_size=64, probe_every=10, probe_size=4, trace_examples=2)


def test_background_run_equals_foreground_run_and_snapshots_are_consistent():
    foreground = Trainer(SMALL)
    while not foreground.finished:
        foreground.train_step()
    worker = BackgroundTraining(Trainer(SMALL)).start()
    seen_steps = []
    while worker.alive:
        view = worker.snapshot()
        for run in view.runs.values():
            # Every list a figure zips together has one entry per step or evaluation, even mid-run.
            assert len(run.steps) == len(run.train_loss) == len(run.grad_norm)
            assert len(run.eval_steps) == len(run.eval_metric) == len(run.eval_elapsed)
        seen_steps.append(view.step)
    assert worker.wait(10) and worker.error is None
    assert seen_steps == sorted(seen_steps)
    for arch in SMALL.archs:
        assert worker.trainer.runs[arch].train_loss == foreground.runs[arch].train_loss


def test_snapshot_does_not_change_while_training_goes_on():
    worker = BackgroundTraining(Trainer(replace(SMALL, max_steps=100_000))).start()
    try:
        time.sleep(0.2)
        view = worker.snapshot()
        frozen = list(view.runs["lstm"].train_loss)
        time.sleep(0.2)
        assert view.runs["lstm"].train_loss == frozen
        assert worker.snapshot().step > view.step
    finally:
        worker.stop()


def test_stop_ends_the_thread_and_marks_the_run():
    worker = BackgroundTraining(Trainer(replace(SMALL, max_steps=100_000))).start()
    time.sleep(0.1)
    worker.stop()
    assert not worker.alive
    assert all(run.status == "stopped" for run in worker.trainer.runs.values())
    assert worker.trainer.stop_reason == "stopped by the user"


def test_an_unwatched_run_stops_itself():
    worker = BackgroundTraining(Trainer(replace(SMALL, max_steps=100_000)), unwatched_timeout=0.3).start()
    assert worker.wait(20), "the worker kept training with nobody watching"
    assert "no page watching" in worker.trainer.stop_reason


def test_an_error_in_training_is_kept_for_the_page_and_stops_the_run(monkeypatch):
    trainer = Trainer(SMALL)
    monkeypatch.setattr(trainer, "train_step", lambda: (_ for _ in ()).throw(RuntimeError("simulated failure")))
    worker = BackgroundTraining(trainer).start()
    assert worker.wait(10)
    assert isinstance(worker.error, RuntimeError) and trainer.finished


def test_readers_are_not_starved():
    worker = BackgroundTraining(Trainer(replace(SMALL, max_steps=100_000))).start()
    try:
        delays = []
        for _ in range(20):
            started = time.perf_counter()
            worker.snapshot()
            delays.append(time.perf_counter() - started)
        # Generous: a training step here takes a few ms; a starved reader would wait for many seconds.
        assert max(delays) < 2.0
        assert threading.active_count() >= 2
    finally:
        worker.stop()
