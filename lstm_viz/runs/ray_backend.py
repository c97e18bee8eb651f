"""The scheduler's second backend: jobs computed on a Ray cluster, selected by LSTM_VIZ_RAY_ADDRESS (`auto`,
`ray://head:10001`, `host:6379`, or `local` for a Ray started inside this process). Unset, nothing here runs and Ray
need not be installed: every job stays in-process, as before.

The scheduler stays the one place that admits jobs (its slots, fair queue and wall-time cap); an admitted training
or sweep point then runs as a Ray task of one CPU and one torch thread on some worker, instead of in the replica's
own thread. Ray retries a task once when its worker dies (max_retries=1); a second death, an error in the task, a
cluster that cannot start it within LSTM_VIZ_RAY_START_SECONDS or a worker that falls silent ends the run as failed
with a message saying which. Every call into Ray has a timeout, so nothing waits forever.

Progress flows through the cluster's run board (lstm_viz.runs.ray_board, one named actor), which also starts and
owns the tasks (so a run outlives the replica that asked for it): the worker posts what changed every POST_SECONDS
and learns there whether anybody still wants the run; each replica polls it for the runs its sessions watch. The
same board lets a replica that asks for a run another replica is training watch it instead of training it again.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import asdict

from lstm_viz.core.run_config import RunConfig
from lstm_viz.rules.errors import ConfigError
from lstm_viz.runs.ray_board import ENDED, RunBoard
from lstm_viz.runs.ray_posts import PostCursor, decode, encode
from lstm_viz.runs.scheduler import Scheduler, env_setting

log = logging.getLogger(__name__)

NAMESPACE = "lstm_viz"
BOARD_NAME = "lstm-viz-run-board"
POST_SECONDS = 0.25  # a worker posts at most this often (the live charts refresh every 0.5 s)
POLL_SECONDS = 0.25  # a replica polls the board this often per run it follows
CALL_TIMEOUT_SECONDS = 10.0  # any one call into Ray
# Defaults; each can be set by an environment variable of the same name.
LSTM_VIZ_RAY_START_SECONDS = 120.0  # a task the cluster has not started by then fails (no free worker)
LSTM_VIZ_RAY_STALE_SECONDS = 60.0  # a running task that posts nothing for this long has hung or lost its node


class RemoteRunError(RuntimeError):
    """A run on the cluster failed; the message says why, for the page."""


def ray_address() -> str | None:
    address = os.environ.get("LSTM_VIZ_RAY_ADDRESS", "").strip()
    return address or None


def import_ray():
    try:
        import ray
    except ImportError:
        raise ConfigError("LSTM_VIZ_RAY_ADDRESS is set but Ray is not installed here: "
                          "pip install -r requirements-scale.txt") from None
    return ray


def _train_on_worker(board, key: str, config_dict: dict, kind: str) -> str:
    """The Ray task: train one run, posting its progress to the board until it ends or nobody wants it."""
    import ray
    import torch

    from lstm_viz.core.trainer import Trainer
    from lstm_viz.runs.sweep_config import row_from_trainer

    torch.set_num_threads(1)
    attempt = ray.get(board.begin.remote(key, os.getpid()), timeout=CALL_TIMEOUT_SECONDS)
    if not attempt:
        return "unwanted"
    started = time.perf_counter()
    trainer = Trainer(RunConfig.from_dict(config_dict))
    cursor = PostCursor()

    def post(final_state: str | None = None) -> str | None:
        body = {"step": trainer.step} if kind == "point" else cursor.delta(trainer)
        if kind == "point" and final_state == "finished":
            body["row"] = asdict(row_from_trainer(trainer, time.perf_counter() - started))
        reply = board.post.remote(key, attempt, encode(body), final_state)
        return ray.get(reply, timeout=CALL_TIMEOUT_SECONDS)

    reason, last = post(), time.monotonic()
    while reason is None and not trainer.finished:
        trainer.train_step()
        if trainer.finished or time.monotonic() - last >= POST_SECONDS:
            reason, last = post("finished" if trainer.finished else None), time.monotonic()
    if not trainer.finished:
        trainer.stop(reason)
        post("stopped")
        return "stopped"
    return "finished"


class _WorkerTicket:
    """What a job's function sees of its Ticket on a worker: `units`, `progress` (posted to the board at most every
    POST_SECONDS) and `should_stop` (what the board answered last: a Stop, the replica's cap, nobody watching)."""

    def __init__(self, board, key: str, attempt: int, units: float):
        self._board, self._key, self._attempt = board, key, attempt
        self.units, self.done_units = units, 0.0
        self._reason: str | None = None
        self._posted = time.monotonic()

    def post(self, final_state: str | None = None) -> None:
        import ray

        reply = self._board.post.remote(self._key, self._attempt, encode({"done": self.done_units}), final_state)
        self._reason, self._posted = ray.get(reply, timeout=CALL_TIMEOUT_SECONDS), time.monotonic()

    def progress(self, done_units: float) -> None:
        self.done_units = float(done_units)
        if time.monotonic() - self._posted >= POST_SECONDS:
            self.post()

    def should_stop(self) -> bool:
        if time.monotonic() - self._posted >= POST_SECONDS:
            self.post()
        return self._reason is not None


def _compute_on_worker(board, key: str, function, units: float):
    """The Ray task of a job of the scheduler given as a function of its ticket (the Gradient lab's what-if runs)."""
    import ray
    import torch

    torch.set_num_threads(1)
    attempt = ray.get(board.begin.remote(key, os.getpid()), timeout=CALL_TIMEOUT_SECONDS)
    if not attempt:
        return None
    ticket = _WorkerTicket(board, key, attempt, units)
    result = function(ticket)
    ticket.post("stopped" if ticket.should_stop() else "finished")
    return result


class RayBackend:
    """One replica's connection to the cluster: the board, the task, and this replica's name on the board."""

    name = "ray"

    def __init__(self, address: str):
        self.address = address
        self.replica = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.start_seconds = env_setting("LSTM_VIZ_RAY_START_SECONDS", LSTM_VIZ_RAY_START_SECONDS, float)
        self.stale_seconds = env_setting("LSTM_VIZ_RAY_STALE_SECONDS", LSTM_VIZ_RAY_STALE_SECONDS, float)
        self._lock = threading.Lock()
        self._board = None
        self._task = self._job_task = None

    def connect(self) -> "RayBackend":
        ray = import_ray()
        with self._lock:
            if not ray.is_initialized():
                if self.address == "local":
                    ray.init(namespace=NAMESPACE, include_dashboard=False, log_to_driver=False)
                else:
                    ray.init(address=self.address, namespace=NAMESPACE, log_to_driver=False)
            if self._board is None:
                board = ray.remote(num_cpus=0, max_concurrency=64)(RunBoard)
                self._board = board.options(name=BOARD_NAME, namespace=NAMESPACE, lifetime="detached",
                                            get_if_exists=True).remote()
                once = dict(num_cpus=1, max_retries=1, retry_exceptions=False)
                self._task = ray.remote(**once)(_train_on_worker)
                self._job_task = ray.remote(**once)(_compute_on_worker)
        return self

    @property
    def board(self):
        return self.connect()._board

    def call(self, reference, timeout: float = CALL_TIMEOUT_SECONDS):
        ray = import_ray()
        try:
            return ray.get(reference, timeout=timeout)
        except ray.exceptions.RayActorError:
            with self._lock:  # the board died (its node restarted): the next call finds or makes it again by name
                self._board = None
            raise

    def wait_any(self, references: list, timeout: float) -> None:
        """Return when one of the tasks has returned, or after `timeout` seconds."""
        import_ray().wait(references, num_returns=1, timeout=timeout)

    def cpus(self) -> int:
        """The cluster's CPUs: the default number of slots of a scheduler on this backend."""
        self.connect()
        return max(1, int(import_ray().cluster_resources().get("CPU", 1)))

    def run(self, kind: str, config: RunConfig) -> "RemoteRun":
        return RemoteRun(self.connect(), kind, config)

    def compute(self, function, ticket):
        """`function(ticket)` on a worker, for a job this replica's scheduler admitted under `ticket`: its progress
        comes back to `ticket`, its should_stop goes out to the worker; returns what the function returned."""
        key = f"job:{uuid.uuid4().hex}"
        remote = RemoteRun(self.connect(), "job", key=key, launch=(self._job_task, (function, ticket.units)))
        remote.claim()
        try:
            while True:
                for post in remote.poll()[1]:
                    ticket.progress(post["done"])
                if remote.state == "failed":
                    raise RemoteRunError(remote.message)
                if remote.ended:
                    return self.call(remote.reference)
                if ticket.should_stop():
                    remote.stop("stopped by the server")
                self.wait_any([remote.reference], POLL_SECONDS)
        finally:
            remote.release("stopped: nobody waits for it")

    def live(self, kind: str, config: RunConfig) -> bool:
        """Whether some replica trains this run on the cluster now (or it finished there a moment ago); False when
        the cluster does not answer (this replica then queues the run as its own, and its claim decides)."""
        try:
            return self.call(self.board.live.remote(f"{kind}:{config.key()}"))
        except Exception:  # noqa: BLE001
            log.warning("the cluster's run board did not answer", exc_info=True)
            return False

    def begun(self, kind: str, config: RunConfig) -> int:
        """How many task executions the cluster ever began for this run (1: trained once; 2: retried once)."""
        return self.call(self.board.begun.remote(f"{kind}:{config.key()}"))


class RemoteRun:
    """A replica's handle on one run on the cluster, which it trains ("train") or watches ("watch")."""

    def __init__(self, backend: RayBackend, kind: str, config: RunConfig | None = None, *, key: str | None = None,
                 launch: tuple | None = None):
        """A run of `config` by the training task, or (`key`, `launch` = (remote function, arguments)) any job. The
        board starts the task and owns it: the run outlives this replica if others watch it."""
        self.backend, self.kind, self.config = backend, kind, config
        self.key = key or f"{kind}:{config.key()}"
        self._launch = launch or (backend._task, (config.to_dict(), kind))
        self.holder = f"{backend.replica}/{uuid.uuid4().hex[:8]}"
        self.role: str | None = None
        self.reference = None  # the task's (owned by the board), when this replica's claim started it
        self.attempt = 0
        self.state = "pending"
        self.message: str | None = None
        self.pid: int | None = None
        self._seen = 0
        self._last_contact = time.monotonic()

    @property
    def ended(self) -> bool:
        return self.state in ENDED

    def claim(self, start: bool = True) -> str:
        board = self.backend.board
        self.role = self.backend.call(board.claim.remote(self.key, self.holder, start, self._launch))
        if self.role == "train":
            self.reference = next(iter(self.backend.call(board.task.remote(self.key))), None)
        return self.role

    def poll(self) -> tuple[bool, list[dict]]:
        """(whether the run restarted from step 0, the new posts in order)."""
        ray = import_ray()
        try:
            answer = self.backend.call(self.backend.board.poll.remote(self.key, self.holder, self.attempt, self._seen))
        except (ray.exceptions.RayError, TimeoutError) as error:
            if time.monotonic() - self._last_contact > self.backend.stale_seconds:
                self._fail(f"Lost contact with the Ray cluster for {self.backend.stale_seconds:g} s ({error}).")
            return False, []
        self._last_contact = time.monotonic()
        restarted = answer["attempt"] != self.attempt
        if restarted:
            self.attempt, self._seen = answer["attempt"], 0
        self._seen += len(answer["posts"])
        self.state, self.pid = answer["state"], answer.get("pid")
        self.message = answer["message"] or self.message
        posts = [decode(blob) for blob in answer["posts"]]
        self._check_health(answer)
        return restarted and self.attempt > 1, posts

    def _check_health(self, answer: dict) -> None:
        """What the board cannot see itself (it sees its tasks fail): a task never started, or fallen silent."""
        if self.state == "gone":
            self._fail("The run left the cluster's board before it ended (the board actor restarted).")
        if self.state == "pending" and answer.get("pending_seconds", 0) > self.backend.start_seconds:
            self._fail(f"No Ray worker became free within {self.backend.start_seconds:g} s: the cluster is full.")
        if self.state == "running" and answer.get("since_post", 0) > self.backend.stale_seconds:
            self._fail(f"The Ray worker (process {self.pid}) has posted nothing for {self.backend.stale_seconds:g} s.")

    def _fail(self, message: str) -> None:
        self.state, self.message = "failed", message
        try:
            self.backend.call(self.backend.board.fail.remote(self.key, message))  # the board also cancels the task
        except Exception:  # noqa: BLE001 - the cluster may be the thing that failed; the run is over either way
            log.warning("could not tell the cluster that %s failed", self.key, exc_info=True)

    def release(self, reason: str) -> None:
        """This replica no longer watches; the worker stops when no replica does."""
        try:
            self.backend.call(self.backend.board.release.remote(self.key, self.holder, reason))
        except Exception:  # noqa: BLE001 - its lease lapses on the board anyway
            log.warning("could not release %s on the cluster", self.key, exc_info=True)

    def stop(self, reason: str) -> None:
        """Stop the run whoever else watches it (the wall-time cap, a shutdown)."""
        try:
            self.backend.call(self.backend.board.stop.remote(self.key, reason))
        except Exception:  # noqa: BLE001
            log.warning("could not stop %s on the cluster", self.key, exc_info=True)


def backend_from_environment() -> RayBackend | None:
    """The Ray backend when LSTM_VIZ_RAY_ADDRESS is set and the cluster answers; None (in-process) otherwise. A set
    address that cannot be used is logged loudly and the server runs in-process, as a single server does."""
    address = ray_address()
    if address is None:
        return None
    try:
        return RayBackend(address).connect()
    except Exception:  # noqa: BLE001 - a server without its cluster still serves, training in-process
        log.exception("LSTM_VIZ_RAY_ADDRESS=%s cannot be used; training in-process", address)
        return None


def scheduler_from_environment() -> Scheduler:
    """The server's one scheduler: on the Ray backend when configured, with one slot per CPU of the cluster unless
    LSTM_VIZ_MAX_TRAININGS says otherwise."""
    backend = backend_from_environment()
    capacity = None
    if backend is not None and not os.environ.get("LSTM_VIZ_MAX_TRAININGS", "").strip():
        capacity = backend.cpus()
    return Scheduler(capacity, backend=backend)
