"""The server's one scheduler: no kind of job trains beside its limit (sweeps included: issue 10, F4), sessions take
turns fairly, a cancelled or released job leaves no thread behind, and the queue's wait estimates come from the
throughput it measured (within a factor of 2 of the actual wait in a scripted scenario)."""
import contextlib
import threading
import time
from dataclasses import replace

import pytest

from lstm_viz.analysis import jacobians
from lstm_viz.runs.background import BackgroundTraining
from lstm_viz.runs.scheduler import Scheduler, wait_for
from lstm_viz.runs.shared_runs import RunHub
from lstm_viz.runs.sweep import BackgroundSweep, PointCache, SweepConfig
from lstm_viz.core.trainer import RunConfig, Trainer
from tests.engine_support import wait_until

SMALL = RunConfig(task="adding", length=12, archs=("rnn", "lstm"), hidden_size=8, batch_size=16,
                  max_steps=40, eval_every=10, eval_size=64, probe_every=10, probe_size=4, trace_examples=2)
ENDLESS = replace(SMALL, max_steps=100_000)
SWEEP = SweepConfig(task="adding", lengths=(6, 10), archs=("rnn", "lstm"), seeds=(0,), steps_per_point=15,
                    hidden_size=8, batch_size=16, eval_every=5, eval_size=64)
WAIT_SECONDS = 60


def job_threads() -> list[threading.Thread]:
    """Every thread that trains or waits for a slot: trainings, sweeps, spawned jobs (lstm-viz-<kind>)."""
    return [t for t in threading.enumerate() if t.name.startswith("lstm-viz-") and t.name != "lstm-viz-warm-runs"
            and t.is_alive()]


@pytest.fixture
def no_threads_left():
    before = set(job_threads())
    yield
    wait_until(lambda: set(job_threads()) <= before)


class Busy(dict):
    """How many threads are computing at once: inside one cell's training step (a run's, on its own thread or a
    borrowed one; a sweep point's; a clipping run's) or inside a what-if probe. Each lingers a millisecond, so jobs
    computing beside the limit would overlap."""

    def __init__(self):
        super().__init__(now=0, max=0, steps=0)
        self.lock = threading.Lock()

    @contextlib.contextmanager
    def computing(self):
        with self.lock:
            self["now"] += 1
            self["steps"] += 1
            self["max"] = max(self["max"], self["now"])
        try:
            time.sleep(0.001)
            yield
        finally:
            with self.lock:
                self["now"] -= 1


@pytest.fixture
def concurrent_steps(monkeypatch):
    busy = Busy()
    original = Trainer._optimise

    def counting(self, run, inputs, targets):
        with busy.computing():
            return original(self, run, inputs, targets)

    monkeypatch.setattr(Trainer, "_optimise", counting)
    return busy


def clipping_job(ticket):
    return jacobians.clipping_run(SMALL, "rnn", 1.0, 30, should_stop=ticket.should_stop)


def test_no_kind_of_job_trains_beside_the_limit(concurrent_steps, no_threads_left):
    """Trainings, sweeps, clipping runs and what-if probes of several sessions all at once, on two slots: never more
    than two computing at a time, and every job still finishes."""
    scheduler = Scheduler(2, max_seconds=600)
    hub = RunHub(scheduler=scheduler)
    runs = [hub.join(replace(SMALL, seed=seed), owner=f"student {seed}") for seed in range(3)]
    sweeps = [BackgroundSweep(replace(SWEEP, seeds=(seed,)), cache=PointCache(), scheduler=scheduler,
                              owner=f"sweeper {seed}").start() for seed in range(3)]
    clippings = [scheduler.spawn(clipping_job, owner=f"lab {n}", kind="clipping", units=1.0) for n in range(2)]
    probe = Trainer(SMALL)

    def what_if(ticket):
        results = []
        for bias in (0.0, 1.0, 3.0, 5.0):
            with concurrent_steps.computing():
                results.append(jacobians.init_probe(SMALL, "lstm", (probe.probe_inputs, probe.probe_targets),
                                                    forget_bias=bias, label=f"bias {bias}"))
        return results

    what_ifs = [scheduler.spawn(what_if, owner=f"lab {n}", kind="what-if", units=1.0) for n in range(3)]
    clippings += what_ifs
    peak_running = 0
    while any(r.alive for r in runs) or any(s.alive for s in sweeps) or not all(c.done for c in clippings):
        peak_running = max(peak_running, scheduler.running)
        for joined in runs:
            joined.snapshot()
        time.sleep(0.005)
    assert concurrent_steps["max"] == 2  # the limit was reached (the jobs competed) and never passed
    assert peak_running <= 2
    assert all(r.snapshot().finished and r.snapshot().step == 40 for r in runs)
    assert all(s.snapshot().status == "finished" and len(s.snapshot().rows) == 4 for s in sweeps)
    assert all(wait_for(c) is not None for c in clippings)


def test_sweeps_cannot_bypass_the_servers_training_limit(concurrent_steps, no_threads_left):
    """Issue 10, F4: four sessions starting sweeps used to run four training threads at once on two cores. With the
    server's one slot busy with a training, a sweep waits in the queue, shows its place, and trains nothing."""
    scheduler = Scheduler(1, max_seconds=600)
    hub = RunHub(scheduler=scheduler)
    running = hub.join(ENDLESS, owner="teacher")
    wait_until(lambda: running.snapshot() is not None and running.snapshot().step > 0)
    sweeps = [BackgroundSweep(replace(SWEEP, seeds=(n,)), cache=PointCache(), scheduler=scheduler,
                              owner=f"student {n}").start() for n in range(4)]
    wait_until(lambda: all(s.snapshot().queue_position is not None for s in sweeps))
    assert sorted(s.snapshot().queue_position for s in sweeps) == [1, 2, 3, 4]
    assert all(s.snapshot().queue_wait is not None and s.snapshot().rows == () for s in sweeps)
    assert scheduler.status() == {"running": 1, "waiting": 4, "capacity": 1, "borrowed": 0,
                                  "running_kinds": ["training"]}
    time.sleep(0.3)
    assert concurrent_steps["max"] == 1
    running.stop()
    for sweep in sweeps:
        assert sweep.wait(WAIT_SECONDS)
        assert sweep.snapshot().status == "finished"
    assert concurrent_steps["max"] == 1


def admission_order(capacity: int, submissions: list[str]) -> list[str]:
    """Submit jobs (one per owner name in `submissions`) while a blocker holds every slot, then finish the jobs one
    at a time in the order they were admitted; the owners in that order."""
    scheduler = Scheduler(capacity, max_seconds=600)
    blockers = [scheduler.submit("blocker", "training", 1.0) for _ in range(capacity)]
    tickets = [scheduler.submit(owner, "job", 1.0) for owner in submissions]
    predicted = sorted(tickets, key=lambda ticket: ticket.position)
    order = []
    for blocker in blockers:
        blocker.finish()
    while len(order) < len(tickets):
        ticket = next(t for t in scheduler.admissions if t.state == "running")
        order.append(ticket)
        ticket.finish()
    assert order == predicted  # the positions the page showed were the order of admission
    return [ticket.owner for ticket in order]


def test_sessions_take_turns_a_sweep_does_not_make_twenty_single_runs_wait():
    students = [f"student {n}" for n in range(20)]
    order = admission_order(1, ["sweep"] * 12 + students)
    # Round robin by session: the sweep's first point, then every student once, then the rest of the sweep.
    assert order == ["sweep"] + students + ["sweep"] * 11


def test_interleaving_by_session_with_several_busy_sessions():
    order = admission_order(1, ["a", "a", "a", "b", "b", "c"])
    assert order == ["a", "b", "c", "a", "b", "a"]


def test_a_session_with_a_job_running_goes_after_sessions_with_none():
    scheduler = Scheduler(2, max_seconds=600)
    mine = scheduler.submit("me", "training", 1.0)
    other = scheduler.submit("other", "training", 1.0)
    assert mine.admitted and other.admitted
    my_sweep_point = scheduler.submit("me", "sweep point", 1.0)
    newcomer = scheduler.submit("newcomer", "training", 1.0)
    assert (newcomer.position, my_sweep_point.position) == (1, 2)
    other.finish()
    assert newcomer.admitted and not my_sweep_point.admitted


def test_cancelled_and_released_jobs_leave_no_thread(no_threads_left):
    scheduler = Scheduler(1, max_seconds=600)
    hold = threading.Event()
    blocker = scheduler.spawn(lambda ticket: hold.wait(WAIT_SECONDS), owner="teacher", kind="what-if", units=1.0)
    wait_until(lambda: blocker.ticket.admitted)

    # A job two sessions wait for: released by one it goes on, released by both it is cancelled in the queue.
    first = scheduler.spawn(clipping_job, owner="a", kind="clipping", units=1.0, key="clip rnn 30")
    second = scheduler.spawn(clipping_job, owner="b", kind="clipping", units=1.0, key="clip rnn 30")
    assert second.job is first.job and first.watchers == 2 and scheduler.waiting == 1
    first.release()
    assert not first.ticket.cancelled and scheduler.waiting == 1
    second.release()
    # A page that reruns asks again at once: it finds the same job, in the same place.
    again = scheduler.spawn(clipping_job, owner="b", kind="clipping", units=1.0, key="clip rnn 30")
    assert again.job is first.job and again.ticket.position == 1
    again.release()  # and now nobody asks again: cancelled after the grace period
    assert first.join(WAIT_SECONDS) and first.ticket.state == "cancelled" and first.result is None

    # A page that is left while waiting (Streamlit stops its script with an exception): the job is cancelled.
    left = scheduler.spawn(clipping_job, owner="c", kind="clipping", units=1.0)

    def page_left(view):
        raise RuntimeError("the page was left")

    with pytest.raises(RuntimeError):
        wait_for(left, page_left)
    assert left.join(WAIT_SECONDS) and left.ticket.state == "cancelled"

    # A queued training, a queued sweep, stopped: their threads end without training.
    training = BackgroundTraining(ENDLESS, scheduler=scheduler, owner="d").start()
    sweep = BackgroundSweep(SWEEP, cache=PointCache(), scheduler=scheduler, owner="e").start()
    wait_until(lambda: scheduler.waiting == 2)
    training.stop()
    sweep.stop()
    assert not training.alive and not sweep.alive and training.trainer is None
    assert scheduler.waiting == 0

    # A running job released by its only watcher stops between steps and frees its slot.
    hold.set()
    assert blocker.join(WAIT_SECONDS)
    running = scheduler.spawn(lambda t: jacobians.clipping_run(SMALL, "rnn", 1.0, 100_000, should_stop=t.should_stop),
                              owner="f", kind="clipping", units=1.0)
    wait_until(lambda: running.ticket.admitted)
    running.release()
    assert running.join(WAIT_SECONDS) and scheduler.running == 0

    # A session leaving a shared training: it goes on for the other session, stops with the last.
    hub = RunHub(scheduler=scheduler)
    mine, theirs = hub.join(ENDLESS, owner="g"), hub.join(ENDLESS, owner="h")
    wait_until(lambda: mine.snapshot() is not None)
    mine.release("stopped: the browser disconnected")
    assert theirs.alive
    theirs.release("stopped: the browser disconnected")
    assert theirs.worker.wait(WAIT_SECONDS)
    assert [t.name for t in threading.enumerate() if t.name.startswith("lstm-viz-") and t.is_alive()
            and t.name != "lstm-viz-warm-runs"] == []


def test_shutdown_stops_running_and_queued_jobs(no_threads_left):
    scheduler = Scheduler(1, max_seconds=600)
    hub = RunHub(scheduler=scheduler)
    running = hub.join(ENDLESS, owner="a")
    queued = hub.join(replace(ENDLESS, seed=1), owner="b")
    wait_until(lambda: running.snapshot() is not None and queued.queue_position == 1)
    scheduler.shutdown()
    assert running.worker.wait(WAIT_SECONDS) and queued.worker.wait(WAIT_SECONDS)
    assert running.snapshot().stop_reason == "stopped: the server is shutting down"
    assert queued.snapshot() is None
    refused = scheduler.submit("c", "training", 1.0)
    assert refused.cancelled and not refused.admitted


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@contextlib.contextmanager
def scripted_server(capacity: int):
    clock = FakeClock()
    # A prior 10x too optimistic: only what the scheduler measures can make the estimates right.
    scheduler = Scheduler(capacity, max_seconds=10_000, clock=clock, prior_rate=50.0)
    yield scheduler, clock


def test_wait_estimates_come_from_measured_throughput_within_a_factor_of_two():
    """A scripted classroom on 2 slots with a fake clock: jobs whose work and speed the script controls. Trainings
    plan 100 units and use 60 (they stop when solved); sweep points plan and use 20; each running job does 5 units
    a second, 2.5 once the server gets busier at t = 60 s. Every job that waited at least a second was told, when it
    was queued, a wait within a factor of 2 of the wait it had."""
    with scripted_server(2) as (scheduler, clock):
        rate = lambda: 5.0 if clock.now < 60 else 2.5  # noqa: E731
        used = {"training": 60.0, "sweep point": 20.0}
        planned = {"training": 100.0, "sweep point": 20.0}
        arrivals = [(0.0, "warm-up 1", "training"), (0.0, "warm-up 2", "training"), (0.5, "early", "training")]
        arrivals += [(13.0 + n, f"student {n}", "training") for n in range(8)]
        arrivals += [(14.5, "sweeper", "sweep point")]  # its next point is submitted when one finishes
        arrivals += [(70.0 + 2 * n, f"late {n}", "training") for n in range(4)]
        sweep_points_left = 5
        told, tickets = {}, []
        dt = 0.05
        while clock.now < 400 and (arrivals or any(t.state in ("queued", "running") for t in tickets)):
            while arrivals and arrivals[0][0] <= clock.now + 1e-9:
                _, owner, kind = arrivals.pop(0)
                ticket = scheduler.submit(owner, kind, planned[kind])
                tickets.append(ticket)
                told[ticket] = ticket.estimated_wait()
            for ticket in scheduler.running_tickets():
                ticket.progress(min(used[ticket.kind], ticket.done_units + rate() * dt))
            clock.now += dt
            for ticket in scheduler.running_tickets():
                if ticket.done_units >= used[ticket.kind] - 1e-9:
                    ticket.finish()
                    if ticket.kind == "sweep point" and sweep_points_left:
                        sweep_points_left -= 1
                        arrivals.insert(0, (clock.now, "sweeper", "sweep point"))
        assert all(ticket.state == "done" for ticket in tickets) and len(tickets) == 21
        waited = [(ticket, ticket.started_at - ticket.enqueued_at, told[ticket]) for ticket in tickets]
        # The first queued job was estimated from the prior alone: far off, which is why the rest are measured.
        first = next(item for item in waited if item[2] is not None)
        assert first[0].owner == "early" and first[1] / first[2] > 4
        checked = [(t.owner, actual, estimate) for t, actual, estimate in waited
                   if t is not first[0] and actual >= 1.0]
        assert len(checked) >= 10
        for owner, actual, estimate in checked:
            assert estimate is not None and 0.5 <= actual / estimate <= 2.0, (owner, actual, estimate)


def test_idle_slots_are_lent_only_while_nobody_waits_and_come_back_for_the_next_job():
    scheduler = Scheduler(3, max_seconds=600)
    first = scheduler.submit("student 1", "training", 1.0)
    assert first.borrow(1) == 1 and first.borrow(5) == 2  # every idle slot, no more
    assert scheduler.status()["borrowed"] == 2 and not first.must_give_back
    second = scheduler.submit("student 2", "training", 1.0)
    assert second.state == "queued" and first.must_give_back  # all three slots are held
    assert first.borrow(2) == 2  # nothing more is lent while a job waits...
    first.give_back()  # ...and what was lent comes back for it
    assert second.state == "running" and first.borrowed == 0
    assert first.borrow(1) == 1  # the third slot is idle again
    third = scheduler.submit("student 3", "training", 1.0)
    assert third.state == "queued"
    first.finish()  # a finished job returns its own slot and the lent one
    assert third.state == "running" and scheduler.status()["borrowed"] == 0
    assert scheduler.submit("student 4", "training", 1.0).borrow(1) == 0  # queued: lent nothing


def test_a_training_alone_on_the_server_steps_its_cells_at_once_and_makes_room_for_the_next(concurrent_steps,
                                                                                             no_threads_left):
    threads_by_arch: dict[str, set] = {}
    original = Trainer._optimise

    def recording(self, run, inputs, targets):
        threads_by_arch.setdefault(run.arch, set()).add(threading.current_thread().name)
        return original(self, run, inputs, targets)

    scheduler = Scheduler(2, max_seconds=600)
    alone = BackgroundTraining(ENDLESS, scheduler=scheduler, owner="student 1")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Trainer, "_optimise", recording)
        alone.start()
        wait_until(lambda: scheduler.status()["borrowed"] == 1 and alone.snapshot() is not None
                   and alone.snapshot().step > 3)
        # Both cells ran on the cell threads, not in the worker thread.
        assert all(name.startswith("lstm-viz-cell") for names in threads_by_arch.values() for name in names)
        second = BackgroundTraining(SMALL, scheduler=scheduler, owner="student 2").start()
        wait_until(lambda: second.ticket.state in ("running", "done"), seconds=10)  # the lent slot came back
        assert second.wait(WAIT_SECONDS)
        alone.stop()
        wait_until(lambda: not alone.alive)
    assert concurrent_steps["max"] == 2  # the borrowed slot ran beside the run's own, never beyond the two slots
    assert second.snapshot().finished and second.snapshot().step == SMALL.max_steps
    # The run that borrowed trained exactly as a run in turn does: same curve up to where it stopped.
    in_turn = Trainer(ENDLESS)
    reference_losses = {arch: [] for arch in ENDLESS.archs}
    for _ in range(alone.snapshot().step):
        event = in_turn.train_step()
        for arch, loss in event.train_loss.items():
            reference_losses[arch].append(loss)
    for arch in ENDLESS.archs:
        assert alone.snapshot().runs[arch].train_loss == reference_losses[arch]


def test_a_run_gives_back_what_it_borrowed_once_only_one_cell_trains(no_threads_left):
    scheduler = Scheduler(2, max_seconds=600)
    # One cell ends (set by hand: ENDLESS never ends by itself) while the other trains on.
    worker = BackgroundTraining(ENDLESS, scheduler=scheduler, owner="student 1").start()
    wait_until(lambda: scheduler.status()["borrowed"] == 1)
    with worker._reading() as trainer:
        run = trainer.runs["rnn"]
        run.status, run.status_detail = "stopped", "ended for the test"
    wait_until(lambda: scheduler.status()["borrowed"] == 0)  # one cell cannot use two slots
    worker.stop()
    assert worker.wait(WAIT_SECONDS)
