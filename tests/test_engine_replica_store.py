"""Without Ray: the shared run store (two hubs standing for two replicas on one folder), the posts a worker sends
(a copy grown from them equals the Trainer that posted them), and the run board's rules (one trainer per key,
watchers, leases, attempts)."""
import time
from dataclasses import replace

import torch

from lstm_viz.core.trainer import RunConfig, Trainer
from lstm_viz.runs.ray_board import RunBoard
from lstm_viz.runs.ray_posts import PostCursor, apply_delta, decode, encode
from lstm_viz.runs.replica_store import RunStore
from lstm_viz.runs.scheduler import Scheduler
from lstm_viz.runs.shared_runs import RunHub

SMALL = RunConfig(task="adding", length=12, archs=("rnn", "lstm"), hidden_size=8, batch_size=16, max_steps=60,
                  eval_every=10, eval_size=64, probe_every=20, probe_size=4, trace_examples=2)


def finished(joined, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while joined.alive:
        assert time.monotonic() < deadline, "the run did not finish"
        time.sleep(0.05)


def test_a_second_replica_on_the_same_folder_replays_without_training(tmp_path):
    torch.set_num_threads(1)
    first = RunHub(scheduler=Scheduler(1), store=RunStore(tmp_path), replay_seconds=0.0)
    joined = first.join(SMALL)
    finished(joined)
    trained = joined.snapshot()
    assert first.store.saved == 1 and SMALL in first.store
    second = RunHub(scheduler=Scheduler(1), store=RunStore(tmp_path), replay_seconds=0.0)
    replayed = second.join(replace(SMALL))
    assert replayed.source == "cached" and second.trainings_started == 0 and second.store.saved == 0
    replayed.skip()
    shown = replayed.snapshot()
    for arch in SMALL.archs:
        assert shown.runs[arch].train_loss == trained.runs[arch].train_loss
        assert [c.step for c in shown.runs[arch].checkpoints] == [c.step for c in trained.runs[arch].checkpoints]
        assert torch.equal(shown.runs[arch].checkpoints[-1].state_dict["readout.weight"],
                           trained.runs[arch].checkpoints[-1].state_dict["readout.weight"])
    # A shared link opened on the second replica shows the stored run finished at once, too.
    assert second.join_finished(SMALL) is not None
    # Another seed is another run: trained.
    third = second.join(replace(SMALL, seed=1, max_steps=20))
    assert third.source == "trained"
    second.shutdown()


def test_a_stopped_run_is_not_stored(tmp_path):
    hub = RunHub(scheduler=Scheduler(1), store=RunStore(tmp_path))
    joined = hub.join(replace(SMALL, max_steps=100_000))
    deadline = time.monotonic() + 30
    while (joined.snapshot() is None or joined.snapshot().step < 3) and time.monotonic() < deadline:
        time.sleep(0.02)
    joined.stop()
    joined.worker.wait(30)
    assert hub.store.saved == 0 and not list(tmp_path.iterdir())


def test_a_store_keeps_one_copy_and_skips_damaged_runs(tmp_path):
    trainer = Trainer(SMALL)
    while not trainer.finished:
        trainer.train_step()
    store = RunStore(tmp_path)
    assert store.save(trainer) and not store.save(trainer) and RunStore(tmp_path).save(trainer) is False
    assert [path.name for path in tmp_path.iterdir()] == [store.folder(SMALL).name]  # no partial folder left
    (store.folder(SMALL) / "run.json").write_text("{not json")
    assert store.load(SMALL) is None  # read as absent: the run is trained again, no traceback


def test_a_copy_grown_from_the_posts_equals_the_trainer_that_posted_them():
    trainer, cursor = Trainer(SMALL), PostCursor()
    copy = Trainer(SMALL, measure_initial_state=False)
    apply_delta(copy, decode(encode(cursor.delta(trainer))))
    while not trainer.finished:
        for _ in range(7):  # posts cover several steps at a time, as the worker's timer makes them
            if not trainer.finished:
                trainer.train_step()
        apply_delta(copy, decode(encode(cursor.delta(trainer))))
    assert copy.step == trainer.step and copy.finished and copy.stop_reason == trainer.stop_reason
    for arch in SMALL.archs:
        ours, theirs = copy.runs[arch], trainer.runs[arch]
        for name in ("steps", "train_loss", "grad_norm", "eval_steps", "eval_metric", "status", "solved_step"):
            assert getattr(ours, name) == getattr(theirs, name), name
        assert [c.step for c in ours.checkpoints] == [c.step for c in theirs.checkpoints]
        for mine, original in zip(ours.checkpoints, theirs.checkpoints):
            assert all(torch.equal(mine.state_dict[k], v) for k, v in original.state_dict.items())
            assert (mine.gradient_flow.grad_norm_per_step == original.gradient_flow.grad_norm_per_step).all()


def test_the_board_gives_a_run_one_trainer_and_stops_it_when_nobody_watches():
    board = RunBoard(lease_seconds=0.2, keep_seconds=60)
    assert board.claim("k", "a", start=False) == "absent" and not board.live("k")
    assert board.claim("k", "a") == "train"
    assert board.claim("k", "b") == "watch" and board.live("k")
    attempt = board.begin("k", pid=1)
    assert board.post("k", attempt, b"1") is None
    board.release("k", "a", "stopped by the user")
    assert board.post("k", attempt, b"2") is None  # b still watches
    board.release("k", "b", "stopped by the user")
    assert board.post("k", attempt, b"3") == "stopped by the user"
    board.post("k", attempt, b"4", final_state="stopped")
    assert board.claim("k", "c") == "train"  # a stopped run is trained afresh
    assert board.post("k", attempt, b"old") is not None  # and the old task's posts are refused
    fresh = board.begin("k", pid=2)
    assert fresh == attempt + 1 and board.begun("k") == 2
    assert board.poll("k", "c", fresh, 0)["posts"] == []
    time.sleep(0.3)  # c never polled again: its lease lapses, and the run is asked to stop
    assert board.post("k", fresh, b"x") == "stopped: nobody is watching any more"


def test_a_run_let_go_of_while_it_queued_on_the_cluster_never_starts():
    board = RunBoard()
    board.claim("k", "a")
    board.release("k", "a", "stopped by the user")
    assert board.begin("k", pid=1) == 0  # the task returns at once
    assert board.poll("k", "a", 0, 0)["state"] == "stopped" and board.claim("k", "b") == "train"


def test_a_retried_attempt_restarts_the_watchers_from_the_first_post():
    board = RunBoard()
    board.claim("k", "a")
    first = board.begin("k", pid=1)
    board.post("k", first, b"p1")
    board.post("k", first, b"p2")
    assert board.poll("k", "a", first, 1)["posts"] == [b"p2"]
    second = board.begin("k", pid=2)  # Ray retried the task after its worker died
    board.post("k", second, b"q1")
    answer = board.poll("k", "a", first, 2)
    assert answer["attempt"] == second and answer["posts"] == [b"q1"] and answer["pid"] == 2
    board.post("k", second, b"q2", final_state="finished")
    assert board.claim("k", "late") == "watch" and board.poll("k", "late", 0, 0)["posts"] == [b"q1", b"q2"]


def test_the_board_forgets_a_run_whose_replica_and_task_vanished():
    board = RunBoard(lease_seconds=0.05, keep_seconds=0.1)
    board.claim("k", "a")  # the replica dies before its task ever begins
    time.sleep(0.2)
    assert board.claim("other", "b") == "train"  # any call tidies the board
    assert board.poll("k", "c", 0, 0)["state"] == "gone"


def test_without_an_address_the_server_schedules_in_process(monkeypatch):
    from lstm_viz.runs import ray_backend

    monkeypatch.delenv("LSTM_VIZ_RAY_ADDRESS", raising=False)
    monkeypatch.setenv("LSTM_VIZ_MAX_TRAININGS", "3")
    scheduler = ray_backend.scheduler_from_environment()
    assert scheduler.backend is None and scheduler.capacity == 3


def test_an_address_without_ray_installed_says_what_to_install(monkeypatch):
    import sys

    import pytest

    from lstm_viz.rules.errors import ConfigError
    from lstm_viz.runs import ray_backend

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails as on a machine without it
    with pytest.raises(ConfigError, match="requirements-scale.txt"):
        ray_backend.RayBackend("auto").connect()
    monkeypatch.setenv("LSTM_VIZ_RAY_ADDRESS", "auto")
    assert ray_backend.scheduler_from_environment().backend is None  # the server still serves, in-process
