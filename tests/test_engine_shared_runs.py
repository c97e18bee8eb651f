"""Runs shared across sessions: one training per configuration, a queue for the training slots, a wall-time cap,
replays of finished runs that equal the run at that step, and no thread left behind."""
import threading
import time
from dataclasses import replace

import pytest

from lstm_viz.runs import narrative
from lstm_viz.runs.background import BackgroundTraining
from lstm_viz.runs.scheduler import Scheduler
from lstm_viz.runs.bundled import BUNDLED_RUNS, PRECOMPUTED_PRESETS, bundled_run_path, precomputed_run
from lstm_viz.runs.presets import PRESETS, preset_config
from lstm_viz.runs.shared_runs import RunHub, env_setting, replay_snapshot
from lstm_viz.core.trainer import RunConfig, Trainer
from tests.engine_support import wait_until as wait_for

SMALL = RunConfig(task="adding", length=12, archs=("rnn", "lstm"), hidden_size=8, batch_size=16,
                  max_steps=40, eval_every=10, eval_size=64, probe_every=10, probe_size=4, trace_examples=2)
ENDLESS = replace(SMALL, max_steps=100_000)
WAIT_SECONDS = 30


def training_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "lstm-viz-training" and thread.is_alive()]


@pytest.fixture
def hub():
    before = set(training_threads())
    hub = RunHub(max_trainings=1, run_seconds=600, torch_threads=1, cached_runs=4)
    yield hub
    hub.shutdown()
    wait_for(lambda: set(training_threads()) <= before)


def trained(config: RunConfig, steps: int | None = None) -> Trainer:
    trainer = Trainer(config)
    while not trainer.finished and (steps is None or trainer.step < steps):
        trainer.train_step()
    return trainer


def test_two_sessions_asking_for_one_configuration_share_one_training(hub):
    first = hub.join(SMALL)
    second = hub.join(replace(SMALL))  # an equal config built separately: same key
    assert first.source == "trained" and second.source == "shared-live"
    assert second.worker is first.worker and hub.trainings_started == 1
    assert hub.watchers(first.key) == 2
    assert first.worker.wait(WAIT_SECONDS)
    a, b = first.snapshot(), second.snapshot()
    reference = trained(SMALL)
    for arch in SMALL.archs:
        assert a.runs[arch].train_loss == b.runs[arch].train_loss == reference.runs[arch].train_loss
    # Finished on its own: the next session gets the cached run, replayed, without training.
    third = hub.join(SMALL)
    assert third.source == "cached" and hub.trainings_started == 1
    third.skip()
    assert not third.alive
    assert third.snapshot().runs["lstm"].eval_metric == reference.runs["lstm"].eval_metric


def test_a_shared_training_goes_on_until_its_last_watcher_leaves(hub):
    first, second = hub.join(ENDLESS), hub.join(ENDLESS)
    wait_for(lambda: first.snapshot() is not None and first.snapshot().step > 2)
    first.stop()
    stopped = first.snapshot()
    assert all(run.status == "stopped" for run in stopped.runs.values())
    assert "the run goes on for 1 other session" in stopped.stop_reason
    step = second.snapshot().step
    wait_for(lambda: second.snapshot().step > step + 2)
    assert second.alive and first.snapshot() is stopped
    second.release()
    wait_for(lambda: not second.worker.alive)
    assert hub.join(ENDLESS).source == "trained"  # a stopped run is not a result to share
    assert hub.trainings_started == 2


def test_the_slot_limit_queues_extra_runs_in_order_and_a_stopped_one_leaves_the_queue(hub):
    running = hub.join(ENDLESS)
    wait_for(lambda: running.snapshot() is not None)
    second = hub.join(replace(ENDLESS, seed=1))
    third = hub.join(replace(ENDLESS, seed=2))
    wait_for(lambda: third.queue_position == 2)
    assert second.queue_position == 1 and second.snapshot() is None
    assert hub.status()["training"] == 1 and hub.status()["waiting"] == 2
    second.stop()  # leaves the queue without ever training
    wait_for(lambda: third.queue_position == 1)
    assert not second.worker.alive and second.snapshot() is None
    running.stop()
    wait_for(lambda: third.snapshot() is not None and third.snapshot().step > 0)
    assert third.queue_position is None and running.snapshot().finished
    third.stop()


def test_slots_admit_up_to_capacity_at_once():
    slots = Scheduler(2)
    workers = [BackgroundTraining(replace(ENDLESS, seed=seed), scheduler=slots, owner=seed) for seed in range(3)]
    for worker in workers:
        worker.start()
    try:
        wait_for(lambda: slots.running == 2 and slots.waiting == 1)
        positions = [worker.queue_position for worker in workers]
        assert positions.count(None) == 2
        waiting = workers[positions.index(1)]
        # A slot given back goes to the run that waited for it, and the count stays at the capacity.
        next(worker for worker in workers if worker is not waiting).stop()
        wait_for(lambda: waiting.queue_position is None and slots.running == 2 and slots.waiting == 0)
    finally:
        for worker in workers:
            worker.stop()
    wait_for(lambda: slots.running == slots.waiting == 0)
    assert not any(worker.alive for worker in workers)


def test_a_run_over_the_wall_time_cap_stops_with_a_message():
    hub = RunHub(max_trainings=1, run_seconds=0.5)
    joined = hub.join(ENDLESS)
    assert joined.worker.wait(WAIT_SECONDS)
    trainer = joined.snapshot()
    assert trainer.finished and all(run.status == "stopped" for run in trainer.runs.values())
    assert "limits a run to 0.5 s of wall time" in trainer.stop_reason
    assert hub.join(ENDLESS).source == "trained"  # a capped run is not cached
    hub.shutdown()


def test_an_unwatched_queued_run_gives_up_its_place():
    hub = RunHub(max_trainings=1, unwatched_timeout=0.3)
    running = hub.join(ENDLESS)
    queued = hub.join(replace(ENDLESS, seed=1))
    deadline = time.monotonic() + WAIT_SECONDS
    while queued.worker.alive:  # only the running one is watched
        running.snapshot()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert running.alive
    hub.shutdown()
    wait_for(lambda: not running.worker.alive)


@pytest.mark.parametrize("step", [0, 1, 15, 20, 33])
def test_a_replay_at_step_s_equals_the_run_trained_to_step_s(step):
    config = replace(SMALL, length=8, max_steps=40, eval_every=5, probe_every=5)
    full, partial = trained(config), trained(config, steps=step)
    shown = replay_snapshot(full, step)
    assert shown.step == step and not shown.finished
    for arch in config.archs:
        run, expected = shown.runs[arch], partial.runs[arch]
        assert run.steps == expected.steps and run.train_loss == expected.train_loss
        assert run.eval_steps == expected.eval_steps and run.eval_metric == expected.eval_metric
        assert [c.step for c in run.checkpoints] == [c.step for c in expected.checkpoints]
        assert run.status == expected.status and run.solved_step == expected.solved_step
    assert 0 <= shown.elapsed <= full.elapsed
    assert replay_snapshot(full, full.step).finished


def test_the_shipped_precomputed_runs_are_exactly_their_presets():
    for name in PRECOMPUTED_PRESETS:
        path = bundled_run_path(f"preset-{name}")
        assert (path / "run.json").exists(), f"run `python scripts/precompute_runs.py preset-{name}`"
        ready = precomputed_run(PRESETS[name].config)
        assert ready is not None and ready.config.key() == PRESETS[name].config.key()
        assert ready.finished and all(run.status != "stopped" for run in ready.runs.values())
    assert precomputed_run(preset_config("vanishing-gradients", seed=1)) is None
    assert set(BUNDLED_RUNS) >= {f"preset-{name}" for name in PRECOMPUTED_PRESETS}
    hub = RunHub(precomputed=precomputed_run)
    joined = hub.join(preset_config("vanishing-gradients"))
    assert joined.source == "precomputed" and hub.trainings_started == 0
    assert joined.snapshot().step < joined.replay.trainer.step  # replayed from the start, not shown finished


def test_the_headline_narrative_follows_the_precomputed_run():
    run = precomputed_run(preset_config("vanishing-gradients"))
    assert narrative.headline_stage(None).index == 1
    solved = run.runs["lstm"].solved_step
    stages = [narrative.headline_stage(replay_snapshot(run, step)).index for step in range(0, run.step + 1, 25)]
    assert stages == sorted(stages) and stages[0] == 2 and stages[-1] == 5
    at_solved = narrative.headline_stage(replay_snapshot(run, solved))
    if solved < run.step:  # trained on after the solve: "solved" is a stage of its own
        assert 3 in stages and 4 in stages
        assert at_solved.index == 4 and f"At step {solved}" in at_solved.text
    else:  # ended at the solve, its verdict known: the last stage tells the solve
        assert 3 in stages and 4 not in stages
        assert at_solved.index == 5 and f"solved T=100 at step {solved}" in at_solved.text
    # The numbers in the words are the run's own: the RNN's gradient reaching step 1 at the end.
    norms = run.runs["rnn"].checkpoints[-1].gradient_flow.grad_norm_per_step[0]
    exponent = int(f"{norms[0] / norms[-1]:e}".split("e")[1])
    assert f"1e{exponent}" in narrative.headline_stage(run).text


def test_limits_from_the_environment(monkeypatch):
    monkeypatch.setenv("LSTM_VIZ_MAX_TRAININGS", "3")
    monkeypatch.setenv("LSTM_VIZ_RUN_SECONDS", "90")
    hub = RunHub()
    assert hub.max_trainings == 3 and hub.run_seconds == 90 and hub.scheduler.capacity == 3
    monkeypatch.setenv("LSTM_VIZ_MAX_TRAININGS", "two")
    with pytest.raises(ValueError, match="LSTM_VIZ_MAX_TRAININGS must be a number"):
        env_setting("LSTM_VIZ_MAX_TRAININGS", 2)
