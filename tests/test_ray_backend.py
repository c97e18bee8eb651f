"""The scheduler's Ray backend on a real local Ray cluster that this module starts once (2 CPUs, loopback, no
dashboard) and shares between its tests: sweep rows equal to the in-process sweep's, a training's snapshots in
order and equal to a training stepped here, Stop, a killed worker (retried once, then a clear failure and no hung
session), and two replica processes sharing the cluster and the run store (the second never trains).

Skipped without Ray (the app does not need it); LSTM_VIZ_REQUIRE_RAY=1 (CI) makes a missing Ray a failure."""
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import pytest
import torch

from lstm_viz.core.trainer import RunConfig, Trainer
from lstm_viz.runs.scheduler import Scheduler
from lstm_viz.runs.shared_runs import RunHub
from lstm_viz.runs.sweep import SweepConfig, iter_sweep, run_sweep

if os.environ.get("LSTM_VIZ_REQUIRE_RAY"):
    import ray  # noqa: F401 - CI: a missing Ray fails here instead of skipping
ray = pytest.importorskip("ray")

from lstm_viz.runs.ray_backend import RayBackend  # noqa: E402 - needs Ray

ROOT = Path(__file__).resolve().parents[1]
SMALL = RunConfig(task="adding", length=12, archs=("rnn", "lstm"), hidden_size=8, batch_size=16, max_steps=400,
                  eval_every=25, eval_size=64, probe_every=50, probe_size=4, trace_examples=2)
# Long enough to be caught mid-run on a busy machine; it never solves in its budget.
LONG = replace(SMALL, archs=("lstm",), length=40, hidden_size=24, max_steps=20_000, stop_when_solved=False)
WAIT_SECONDS = 90
# What a row measured on the machine that ran it; everything else must be equal.
TIMING_FIELDS = ("wall_seconds", "train_seconds", "cached")


@pytest.fixture(scope="module")
def cluster():
    # The workers import lstm_viz from this checkout, whatever the directory pytest was started in.
    saved = dict(os.environ)  # ray.init sets RAY_AUTH_MODE and more in this process: the later modules get none
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), saved.get("PYTHONPATH")]))
    try:
        context = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, namespace="lstm_viz")
        yield context.address_info["address"]
    finally:
        ray.shutdown()
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def backend(cluster):
    return RayBackend(cluster).connect()


def stepped(config: RunConfig) -> Trainer:
    torch.set_num_threads(1)
    trainer = Trainer(config)
    while not trainer.finished:
        trainer.train_step()
    return trainer


def wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def step_of(joined) -> int:
    trainer = joined.snapshot()
    return trainer.step if trainer is not None else 0


def without_timing(row) -> dict:
    return {name: value for name, value in asdict(row).items() if name not in TIMING_FIELDS}


def test_a_sweep_on_the_cluster_gives_the_in_process_rows(backend):
    config = SweepConfig(task="adding", lengths=(8, 12), archs=("rnn", "lstm"), seeds=(0, 1), steps_per_point=120,
                         hidden_size=8, batch_size=16)
    torch.set_num_threads(1)
    here = run_sweep(config, cache=None)
    scheduler = Scheduler(2, backend=backend)
    there = [event.row for event in iter_sweep(config, None, scheduler=scheduler, owner="test") if event.row]
    assert len(here) == len(there) == 8
    assert [without_timing(row) for row in there] == [without_timing(row) for row in here]
    assert scheduler.running == 0 and scheduler.waiting == 0
    assert {ticket.kind for ticket in scheduler.admissions} == {"sweep point"} and len(scheduler.admissions) == 8


def test_snapshots_arrive_in_order_and_end_equal_to_a_training_stepped_here(backend):
    hub = RunHub(scheduler=Scheduler(2, backend=backend))
    joined = hub.join(SMALL)
    assert joined.source == "trained"
    seen = []
    deadline = time.monotonic() + WAIT_SECONDS
    while joined.alive and time.monotonic() < deadline:
        trainer = joined.snapshot()
        if trainer is not None:
            seen.append((trainer.step, list(trainer.runs["lstm"].train_loss), len(trainer.runs["lstm"].checkpoints)))
        time.sleep(0.05)
    assert not joined.alive and joined.error is None
    final, reference = joined.snapshot(), stepped(SMALL)
    for arch in SMALL.archs:
        assert final.runs[arch].train_loss == reference.runs[arch].train_loss
        assert final.runs[arch].eval_metric == reference.runs[arch].eval_metric
        assert final.runs[arch].status == reference.runs[arch].status
        mine, theirs = final.runs[arch].checkpoints, reference.runs[arch].checkpoints
        assert [c.step for c in mine] == [c.step for c in theirs]
        assert all(torch.equal(a.state_dict[k], b.state_dict[k]) for a, b in zip(mine, theirs) for k in a.state_dict)
    # In order: every snapshot's history extends the one before (no step lost, repeated or reordered).
    assert len({step for step, _, _ in seen}) >= 3, seen
    for (step, losses, checkpoints), (later_step, later, later_checkpoints) in zip(seen, seen[1:]):
        assert step <= later_step and later[:len(losses)] == losses and checkpoints <= later_checkpoints
    assert backend.begun("training", SMALL) == 1


def test_stop_ends_the_training_on_the_cluster(backend):
    scheduler = Scheduler(2, backend=backend)
    hub = RunHub(scheduler=scheduler)
    config = replace(LONG, seed=11)
    joined = hub.join(config)
    assert wait_until(lambda: step_of(joined) > 5, WAIT_SECONDS)
    remote = joined.worker.remote
    started = time.monotonic()
    joined.stop()
    assert not joined.alive and time.monotonic() - started < 15
    assert joined.snapshot().runs["lstm"].status == "stopped"
    # The worker itself stops: the board marks the run stopped and the Ray task returns.
    assert ray.get(remote.reference, timeout=30) == "stopped"
    assert ray.get(backend.board.poll.remote(remote.key, "probe", remote.attempt, 0), timeout=10)["state"] == "stopped"
    assert scheduler.running == 0 and not hub.watchers(joined.key)


def kill_worker_once_it_trains(training, previous_pid=None) -> int:
    assert wait_until(lambda: training.worker_pid not in (None, previous_pid) and training.trainer is not None
                      and training.trainer.step > 5, WAIT_SECONDS), "the run never started on a worker"
    pid = training.worker_pid
    os.kill(pid, signal.SIGKILL)
    return pid


def test_a_killed_worker_is_retried_once_and_a_second_death_fails_clearly(backend):
    scheduler = Scheduler(2, backend=backend)
    hub = RunHub(scheduler=scheduler)
    joined = hub.join(replace(LONG, seed=12))
    training = joined.worker
    first = kill_worker_once_it_trains(training)
    assert wait_until(lambda: training.restarts == 1, WAIT_SECONDS), "the run was not restarted after its worker died"
    kill_worker_once_it_trains(training, previous_pid=first)
    started = time.monotonic()
    assert training.wait(WAIT_SECONDS), "the session hung after the second worker died"
    assert time.monotonic() - started < 60
    message = str(joined.error)
    assert "died" in message and "retried the run once" in message, message
    assert joined.snapshot().runs["lstm"].status == "stopped"
    assert scheduler.running == 0  # its slot is free again
    assert backend.begun("training", replace(LONG, seed=12)) == 2


def test_a_run_goes_on_for_its_watchers_when_the_replica_that_started_it_dies(cluster, backend, tmp_path):
    """The board owns the tasks: a replica killed mid-run (a rolling restart) takes no one else's training with it."""
    config = replace(LONG, seed=23, train_to_budget=True, max_steps=1500)
    first = replica(cluster, tmp_path, config)
    second = None
    try:
        assert json.loads(first.stdout.readline())["joined"] == "trained"
        assert wait_until(lambda: backend.live("training", config), WAIT_SECONDS)
        second = replica(cluster, tmp_path, config)
        assert json.loads(second.stdout.readline())["joined"] == "shared-live"
    finally:
        first.kill()
        first.wait(30)
    watched = report(second)
    assert watched["error"] is None and watched["step"] == 1500 and watched["status"] == {"lstm": "budget"}
    assert watched["train_loss"]["lstm"] == stepped(config).runs["lstm"].train_loss
    assert backend.begun("training", config) == 1


def test_a_what_if_job_computes_on_a_worker_what_it_computes_here(backend):
    from lstm_viz.analysis import jacobians
    from lstm_viz.runs.scheduler import wait_for

    trainer = Trainer(SMALL)
    probe = (trainer.probe_inputs, trainer.probe_targets)

    def compute(ticket):
        return [jacobians.init_probe(SMALL, "lstm", probe, forget_bias=bias, label=f"bias {bias}") for bias in (0, 3)]

    scheduler = Scheduler(2, backend=backend)
    there = wait_for(scheduler.spawn(lambda ticket: backend.compute(compute, ticket), owner="t", kind="what-if",
                                     units=1.0))
    here = compute(None)
    assert [p.label for p in there] == ["bias 0", "bias 3"]
    for mine, theirs in zip(there, here):
        assert (mine.flow.grad_norm_per_step == theirs.flow.grad_norm_per_step).all()
        assert mine.mean_forget_gates == theirs.mean_forget_gates
    # And they are the probes asked for: the forget gate starts near sigmoid(bias), 0.5 and 0.95.
    assert abs(there[0].mean_forget_gates[0] - 0.5) < 0.1 and there[1].mean_forget_gates[0] > 0.9


def count_until_stopped(ticket) -> int:
    count = 0
    while not ticket.should_stop():
        count += 1
        ticket.progress(count)
        time.sleep(0.01)
    return count


def test_a_job_on_a_worker_reports_progress_and_stops_when_its_ticket_does(backend):
    scheduler = Scheduler(2, backend=backend)
    view = scheduler.spawn(lambda ticket: backend.compute(count_until_stopped, ticket), owner="t", kind="what-if",
                           units=1e9)
    assert wait_until(lambda: view.ticket.done_units > 10, WAIT_SECONDS), "no progress came back from the worker"
    view.ticket.cancel()
    assert view.wait(15), "the job did not stop"
    assert view.error is None and view.result >= view.ticket.done_units > 10
    assert scheduler.running == 0


def replica(cluster: str, store: Path, config: RunConfig, *options: str) -> subprocess.Popen:
    # RAY_AUTH_MODE: this test's cluster asks its drivers for the token it saved in ~/.ray (ray.init's default).
    env = {**os.environ, "LSTM_VIZ_RAY_ADDRESS": cluster, "LSTM_VIZ_RUN_STORE": str(store),
           "LSTM_VIZ_MAX_TRAININGS": "1", "PYTHONPATH": str(ROOT), "RAY_AUTH_MODE": "token"}
    command = [sys.executable, "-m", "tests.ray_replica", json.dumps(config.to_dict()), *options]
    return subprocess.Popen(command, cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def report(process: subprocess.Popen) -> dict:
    out, _ = process.communicate(timeout=WAIT_SECONDS + 60)
    assert process.returncode == 0
    return json.loads(out.strip().splitlines()[-1])


def test_a_second_replica_replays_what_the_first_trained_without_training(cluster, backend, tmp_path):
    config = replace(SMALL, seed=21)
    first = report(replica(cluster, tmp_path, config))
    assert first["backend"] == "ray" and first["source"] == "trained" and first["trainings_started"] == 1
    assert first["stored_here"] == 1 and first["error"] is None
    second = report(replica(cluster, tmp_path, config))
    assert second["source"] == "cached" and second["trainings_started"] == 0 and second["stored_here"] == 0
    assert second["train_loss"] == first["train_loss"] and second["eval_metric"] == first["eval_metric"]
    assert backend.begun("training", config) == 1  # one training on the whole cluster


def test_a_replica_asking_for_a_run_another_trains_watches_it(cluster, backend, tmp_path):
    config = replace(LONG, seed=22, train_to_budget=True)  # trains until the test lets the first replica stop
    done = tmp_path / "stop-now"
    first = replica(cluster, tmp_path / "store", config, "--until", str(done))
    try:
        assert json.loads(first.stdout.readline())["joined"] == "trained"
        assert wait_until(lambda: backend.live("training", config), WAIT_SECONDS)
        second = report(replica(cluster, tmp_path / "store", config, "--steps", "50"))
    finally:
        done.touch()
    first = report(first)
    assert second["source"] == "shared-live" and second["trainings_started"] == 0, second
    assert first["error"] is None and second["error"] is None, (first["error"], second["error"])
    # The second replica saw the first one's training: the same losses, up to where it stopped watching.
    watched = second["train_loss"]["lstm"]
    assert len(watched) >= 50 and first["train_loss"]["lstm"][:len(watched)] == watched
    assert backend.begun("training", config) == 1


def test_the_train_page_trains_on_the_cluster_and_says_so(cluster, backend, monkeypatch, tmp_path):
    """The app as a replica runs it: services builds its scheduler and hub from the environment."""
    from streamlit.testing.v1 import AppTest

    from tests.app_support import APP, clear_streamlit_caches, tiny_settings, train_until_done

    monkeypatch.setenv("LSTM_VIZ_RAY_ADDRESS", cluster)
    monkeypatch.setenv("LSTM_VIZ_RUN_STORE", str(tmp_path))
    clear_streamlit_caches()
    try:
        at = AppTest.from_file(APP, default_timeout=90)
        at.switch_page("pages/train.py").run()
        tiny_settings(at, seed=31)
        train_until_done(at)
        captions = " ".join(caption.value for caption in at.caption)
        assert "Trained on the Ray cluster (worker process" in captions, captions
        trainer = at.session_state["run"].trainer
        assert trainer.finished and trainer.step > 0
        assert backend.begun("training", trainer.config) == 1 and len(list(tmp_path.iterdir())) == 1
    finally:
        clear_streamlit_caches()  # shuts this scheduler and hub down; later tests build their own


def test_the_gradient_labs_what_if_tabs_compute_on_the_cluster(cluster, backend, monkeypatch):
    """The page's own closures (the bundled run, its checkpoint weights) go to a worker and come back equal."""
    from streamlit.testing.v1 import AppTest

    from tests.app_support import APP, clear_streamlit_caches

    monkeypatch.setenv("LSTM_VIZ_RAY_ADDRESS", cluster)
    clear_streamlit_caches()
    sent = []
    compute = RayBackend.compute
    monkeypatch.setattr(RayBackend, "compute", lambda self, function, ticket: sent.append(ticket.kind) or
                        compute(self, function, ticket))
    try:
        at = AppTest.from_file(APP, default_timeout=120)
        at.switch_page("pages/gradient_lab.py").run()
        at.session_state["glab_tab"] = "Forget-gate bias"
        at.run()
        assert not at.exception, at.exception
        forget = at.dataframe[0].value["mean forget gate"].to_numpy()
        at.session_state["glab_tab"] = "Clamp the forget gate"
        at.run()
        assert not at.exception, at.exception
        clamped = at.dataframe[0].value.set_index("forget gate")
    finally:
        clear_streamlit_caches()
    assert len(sent) >= 2 and set(sent) == {"what-if"}  # both tabs' jobs went to the cluster
    assert forget[0] == pytest.approx(0.5, abs=0.02) and forget[-1] > 0.9  # sigmoid of the biases 0 and 3
    # Unclamped, the worker's float64 loop reproduces the test metric the shipped run recorded.
    from lstm_viz.runs.bundled import load_bundled_run

    recorded = load_bundled_run().runs["lstm"].checkpoints[-1].eval_metric
    assert clamped.loc["as trained", "test MSE"] == pytest.approx(recorded, rel=1e-5)


def test_after_the_board_actor_dies_the_next_run_trains_on_a_new_board(backend):
    ray.kill(backend.board, no_restart=True)
    hub = RunHub(scheduler=Scheduler(2, backend=backend))
    config = replace(SMALL, seed=41, max_steps=60)
    joined = hub.join(config)  # the dead board's first answer is an error: the replica then makes a new one
    assert joined.source == "trained"
    assert joined.worker.wait(WAIT_SECONDS) and joined.error is None, joined.error
    assert joined.snapshot().runs["lstm"].train_loss == stepped(config).runs["lstm"].train_loss
    assert backend.begun("training", config) == 1
