"""Background training: same result as training in the foreground, readers see consistent snapshots."""
import threading
import time
from dataclasses import replace

from lstm_viz.runs.background import BackgroundTraining
from lstm_viz.core.trainer import RunConfig, Trainer

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
        delays, steps = [], []
        deadline = time.monotonic() + 60
        # Read until the training has moved on by several steps while being read: the reads then overlapped it.
        while (len(steps) < 20 or steps[-1] - steps[0] < 5) and time.monotonic() < deadline:
            started = time.perf_counter()
            view = worker.snapshot()
            delays.append(time.perf_counter() - started)
            steps.append(view.step if view is not None else 0)
        assert steps[-1] - steps[0] >= 5, "the training did not run while it was read"
        assert worker.alive
        # Generous: a training step here takes a few ms; a starved reader would wait for many seconds.
        assert max(delays) < 2.0
    finally:
        worker.stop()


def test_a_page_gets_the_step_0_state_while_the_first_step_runs(monkeypatch):
    """The first training step is the slowest; the page's first draw after Start must not wait for it. Held here
    inside step 1 until the snapshot has been taken, so a snapshot that waited for the step would never return."""
    in_first_step, release = threading.Event(), threading.Event()
    original_step = Trainer.train_step

    def held_first_step(self):
        if self.step == 0:
            in_first_step.set()
            release.wait(60)
        return original_step(self)

    monkeypatch.setattr(Trainer, "train_step", held_first_step)
    worker = BackgroundTraining(replace(SMALL, max_steps=100_000)).start()
    try:
        assert worker.wait_built(60), "the Trainer was not built"
        assert in_first_step.wait(60)
        views = []
        reader = threading.Thread(target=lambda: views.append(worker.snapshot()), daemon=True)
        reader.start()
        reader.join(30)
        assert views, "the snapshot waited for the first training step"
        view = views[0]
        # The step-0 state: each cell's evaluation and checkpoint of its untrained weights, no training step yet.
        assert view.step == 0
        for run in view.runs.values():
            assert run.steps == [] and run.eval_steps == [0] and [c.step for c in run.checkpoints] == [0]
        release.set()
        while worker.snapshot().step < 2:
            time.sleep(0.01)
        later = worker.snapshot()
        assert all(run.steps[:2] == [1, 2] for run in later.runs.values())
        assert view.step == 0 and all(run.steps == [] for run in view.runs.values())  # the copy did not move on
    finally:
        release.set()
        worker.stop()


def test_waiting_for_the_build_returns_at_once_for_a_queued_run():
    from lstm_viz.runs.scheduler import Scheduler

    scheduler = Scheduler(capacity=1)
    blocker = scheduler.submit("someone else", "training", 1.0)  # holds the only slot
    worker = BackgroundTraining(SMALL, scheduler=scheduler, owner="me").start()
    try:
        assert worker.queue_position == 1
        assert worker.wait_built(60) is False and worker.trainer is None
        blocker.finish()
        assert worker.wait_built(60) is True and worker.snapshot().runs["lstm"].eval_steps[:1] == [0]
    finally:
        worker.stop()
        scheduler.shutdown()
