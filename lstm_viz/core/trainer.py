"""Train several architectures side by side on identical batches, reporting progress as events.

The trainer knows nothing of any UI and owns no thread of its own: in the app a training runs in a background
thread (lstm_viz.runs.background) that holds one of the server's scheduler slots (lstm_viz.runs.scheduler) and calls
`train_step` while pages only read snapshots; a script iterates `iter_training` or calls `advance`. A training step
is the bare fused PyTorch step; evaluation, gradient-flow probes and checkpoints happen every k steps on small fixed
batches, so visibility costs little. The run's settings are a RunConfig (lstm_viz.core.run_config), the sentences of
its verdict come from lstm_viz.core.verdict.
"""
from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Iterator

import torch
from torch import Tensor

from lstm_viz.rules import checks
from lstm_viz.core import verdict as verdict_text
from lstm_viz.core.gradient_flow import measure_gradient_flow
from lstm_viz.core.model import build_model
from lstm_viz.core.run_records import ArchRun, Checkpoint, ProgressEvent
# RunConfig and its limits moved to lstm_viz.core.run_config; the pages, scripts and tests import them from here too.
from lstm_viz.core.run_config import (  # noqa: F401
    MAX_STEP_GFLOP, MEASURED_GFLOP_PER_SECOND, OPTIMIZERS, RunConfig,
)
from lstm_viz.rules.ranges import (  # noqa: F401
    BATCH_SIZE_RANGE, CLIP_RANGE, LEARNING_RATE_RANGE, MAX_STEPS_RANGE, SEED_RANGE,
)
from lstm_viz.core.stopping import PLATEAU_EVALUATIONS, has_plateaued, plain_cells_to_stop
from lstm_viz.core.tasks import Task


@contextmanager
def denormals_flushed() -> Iterator[None]:
    """Treat subnormal floats as 0 in this thread while a training step runs.

    A vanishing gradient passes through subnormal values (below 1.2e-38 in float32), and each operation on one costs
    the CPU about a hundred times a normal one: the plain RNN's step took 47 ms instead of 5.4 ms from step 80 of the
    headline run on, the fused LSTM's 20 ms instead of 16 (issue 9). Values that small change no weight through Adam
    (its eps is 1e-8), and the headline run's test metrics came out identical to every digit. The setting is the
    thread's own CPU state, so it is turned off again on the way out: evaluations and the float64 gradient probes,
    whose tiny values the charts plot, see every subnormal."""
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


# Separate streams so the training batches, test set and probe set never overlap or shift each other.
TEST_SEED_OFFSET = 1_000_003
PROBE_SEED_OFFSET = 2_000_029


class Trainer:
    def __init__(self, config: RunConfig, *, measure_initial_state: bool = True, cell_threads: int = 1):
        """`measure_initial_state=False` skips the step-0 evaluation and checkpoint: for restoring a saved run
        (lstm_viz.runs.runstore), whose histories are filled in afterwards.

        `cell_threads` > 1 trains, evaluates and probes the architectures on that many threads at once, one torch
        thread each, on the same batch: for a script that has the cores to itself (the CLI), where a step of the
        headline RNN and LSTM then costs about the LSTM's alone. Results are identical to one thread. In the app a
        training starts on 1 (its scheduler slot) and steps up only onto slots nobody waits for
        (lstm_viz.runs.background, set_cell_threads)."""
        self.config = config.validate()
        self.task: Task = config.make_task()
        self.step = 0
        self.elapsed = 0.0
        self.stop_reason: str | None = None
        self._step_started: float | None = None
        self._data_generator = torch.Generator().manual_seed(config.seed)
        self.test_inputs, self.test_targets = self.task.generate(
            config.eval_size, config.length, torch.Generator().manual_seed(config.seed + TEST_SEED_OFFSET), split="test"
        )
        self.probe_inputs, self.probe_targets = self.task.generate(
            config.probe_size, config.length, torch.Generator().manual_seed(config.seed + PROBE_SEED_OFFSET), split="probe"
        )
        self.runs: dict[str, ArchRun] = {}
        for arch in config.archs:
            model = build_model(config.model_config(arch), seed=config.seed)
            optimizer_class = OPTIMIZERS[config.optimizer]
            self.runs[arch] = ArchRun(
                arch=arch,
                label=model.architecture.label,
                model=model,
                optimizer=optimizer_class(model.parameters(), lr=config.learning_rate),
            )
        self._pool: ThreadPoolExecutor | None = None
        self._cell_threads = 1
        self.set_cell_threads(cell_threads)
        if measure_initial_state:
            try:
                self._for_each(list(self.runs.values()), lambda run: (self.evaluate(run), self.checkpoint(run)))
            except BaseException:
                self.close()  # no cell thread outlives a Trainer that failed to start
                raise

    def _for_each(self, runs: list["ArchRun"], work) -> list:
        """work(run) for each run, on the cell threads when there are any; results in the order of `runs`.
        Each run's work touches only that run's model, optimiser and histories."""
        if self._pool is None or len(runs) < 2:
            return [work(run) for run in runs]
        return list(self._pool.map(work, runs))

    @property
    def cell_threads(self) -> int:
        return self._cell_threads

    def set_cell_threads(self, threads: int) -> int:
        """Train the architectures on up to `threads` threads from the next step on (1: in turn, in the calling
        thread); returns the number used. Changing it changes no result."""
        checks.whole_number("cell_threads", threads, 1, 64)
        threads = min(threads, len(self.config.archs))
        # Dropout between layers draws from torch's global generator: cells on parallel threads would draw their
        # masks in a different order from run to run, and the run would not repeat.
        if self.config.dropout > 0 and self.config.num_layers > 1:
            threads = 1
        if threads != self._cell_threads:
            self.close()
            if threads > 1:
                self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="lstm-viz-cell",
                                                initializer=torch.set_num_threads, initargs=(1,))
                self._cell_threads = threads
        return threads

    def close(self) -> None:
        """End the cell threads (a finished or stopped run does this itself); the Trainer stays readable."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self._cell_threads = 1

    # ----- state -----
    @property
    def finished(self) -> bool:
        return not any(run.active for run in self.runs.values())

    @property
    def steps_per_second(self) -> float:
        return self.step / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def baseline(self) -> float:
        return self.task.baseline(self.config.length)

    @property
    def solved_threshold(self) -> float:
        return self.task.solved_threshold(self.config.length)

    @property
    def metric_floor(self) -> float:
        return self.task.metric_floor(self.config.length)

    @property
    def trace_inputs(self) -> Tensor:
        return self.probe_inputs[: self.config.trace_examples]

    @property
    def trace_targets(self) -> Tensor:
        return self.probe_targets[: self.config.trace_examples]

    # ----- training -----
    def train_step(self) -> ProgressEvent:
        """One optimiser step of every training cell on one shared batch, then what is due at this step: the
        evaluations and the stops they decide, the step budget, the checkpoints."""
        if self.finished:
            raise RuntimeError("training has finished; start a new Trainer")
        started = self._step_started = time.perf_counter()
        inputs, targets = self.task.generate(self.config.batch_size, self.config.length, self._data_generator)
        self.step += 1
        active_before = {arch for arch, run in self.runs.items() if run.active}
        train_loss, grad_norm = self._train_cells(inputs, targets)
        eval_metric = self._evaluate_if_due()
        self._end_cells_at_budget()
        probed = self._checkpoint_if_due(active_before)
        if self.finished and self.stop_reason is None:
            self.stop_reason = "; ".join(f"{run.label}: {run.status_detail}" for run in self.runs.values())
        if self.finished:
            self.close()
        self.elapsed += time.perf_counter() - started
        return ProgressEvent(
            step=self.step,
            elapsed=self.elapsed,
            steps_per_second=self.steps_per_second,
            train_loss=train_loss,
            grad_norm=grad_norm,
            eval_metric=eval_metric,
            probed=probed,
            finished=self.finished,
            stop_reason=self.stop_reason,
        )

    def _train_cells(self, inputs: Tensor, targets: Tensor) -> tuple[dict[str, float], dict[str, float]]:
        """The training step of every active cell; (train loss, gradient norm) per architecture. A cell whose loss
        or gradient norm is no longer finite has diverged."""
        train_loss: dict[str, float] = {}
        grad_norm: dict[str, float] = {}
        training = [run for run in self.runs.values() if run.active]

        def optimise(run: ArchRun) -> tuple[float, float]:
            with denormals_flushed():
                return self._optimise(run, inputs, targets)

        for run, (loss_value, norm_value) in zip(training, self._for_each(training, optimise)):
            train_loss[run.arch], grad_norm[run.arch] = loss_value, norm_value
            run.steps.append(self.step)
            run.train_loss.append(loss_value)
            run.grad_norm.append(norm_value)
            if not math.isfinite(loss_value) or not math.isfinite(norm_value):
                what = "loss" if not math.isfinite(loss_value) else "gradient norm"
                run.status = "diverged"
                run.status_detail = (
                    f"{what} became {'NaN' if math.isnan(loss_value if what == 'loss' else norm_value) else 'infinite'} "
                    f"at step {self.step}: lower the learning rate (now {self.config.learning_rate:g}) or turn on "
                    "gradient clipping"
                )
        return train_loss, grad_norm

    def _evaluate_if_due(self) -> dict[str, float] | None:
        """Every eval_every steps and at the last: the test metric of each active cell (None between), then the
        stops the verdict's rules decide."""
        config = self.config
        if not (self.step % config.eval_every == 0 or self.step >= config.max_steps):
            return None
        evaluating = [run for run in self.runs.values() if run.active]
        eval_metric = dict(zip((run.arch for run in evaluating), self._for_each(evaluating, self.evaluate)))
        if not config.train_to_budget:
            self._stop_cells_whose_verdict_is_known()
        return eval_metric

    def _end_cells_at_budget(self) -> None:
        if self.step >= self.config.max_steps:
            for run in self.runs.values():
                if run.active:
                    run.status, run.status_detail = "budget", f"step budget of {self.config.max_steps} used"

    def _checkpoint_if_due(self, active_before: set[str]) -> bool:
        """Checkpoints every probe_every steps; a run that ends this step gets a final one, unless its weights are
        no longer finite. True when any was taken."""
        probing = [run for run in self.runs.values()
                   if (run.active and self.step % self.config.probe_every == 0)
                   or (run.arch in active_before and not run.active and run.status != "diverged")]
        self._for_each(probing, self.checkpoint)
        return bool(probing)

    def _optimise(self, run: ArchRun, inputs: Tensor, targets: Tensor) -> tuple[float, float]:
        model = run.model
        model.train()
        run.optimizer.zero_grad(set_to_none=True)
        loss = self.task.loss(model(inputs), targets)
        loss_value = loss.item()
        if not math.isfinite(loss_value):
            return loss_value, math.nan
        loss.backward()
        max_norm = self.config.clip_grad_norm if self.config.clip_grad_norm is not None else math.inf
        norm_value = float(torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm))
        if math.isfinite(norm_value):
            run.optimizer.step()
        return loss_value, norm_value

    def advance(self, max_seconds: float | None = None, max_steps: int | None = None) -> list[ProgressEvent]:
        """Train until a time slice or step count is used up, or training ends; at least one step."""
        events: list[ProgressEvent] = []
        deadline = None if max_seconds is None else time.perf_counter() + max_seconds
        while not self.finished:
            events.append(self.train_step())
            if max_steps is not None and len(events) >= max_steps:
                break
            if deadline is not None and time.perf_counter() >= deadline:
                break
        return events

    def stop(self, reason: str = "stopped by the user") -> None:
        for run in self.runs.values():
            if run.active:
                run.status, run.status_detail = "stopped", f"{reason} at step {self.step}"
                if run.checkpoints[-1].step < self.step:
                    self.checkpoint(run)
        self.stop_reason = reason
        self.close()

    # ----- measurements -----
    @torch.no_grad()
    def evaluate(self, run: ArchRun) -> float:
        """The test metric of `run`'s model now, recorded in its histories; marks it solved, plateaued or diverged
        when the metric says so. Also for a model loaded from a file (lstm_viz.io.model_upload)."""
        model = run.model
        model.eval()
        outputs = torch.cat([model(inputs) for inputs in self.test_inputs.split(256)])
        metric = self.task.metric(outputs, self.test_targets)
        model.train()
        run.eval_steps.append(self.step)
        run.eval_metric.append(metric)
        in_step = time.perf_counter() - self._step_started if self._step_started is not None else 0.0
        run.eval_elapsed.append(self.elapsed + in_step)
        if not math.isfinite(metric):
            run.status, run.status_detail = "diverged", f"test {self.task.metric_name} became NaN at step {self.step}"
            return metric
        if metric < run.best_metric * 0.99:
            run.best_metric, run.evals_since_best = metric, 0
        else:
            run.evals_since_best += 1
        if run.solved_step is None and metric <= self.solved_threshold and self.step > 0:
            run.solved_step = self.step
            if self.config.stop_when_solved:
                run.status = "solved"
                run.status_detail = f"solved at step {self.step} (test {self.task.metric_name} {metric:.4f})"
        if run.active and self.config.patience is not None and run.evals_since_best > self.config.patience:
            run.status = "plateaued"
            run.status_detail = f"stopped at step {self.step}: no 1% improvement in {self.config.patience} evaluations"
        elif (run.active and self.config.patience is None and not self.config.train_to_budget
              and has_plateaued(run.eval_metric, self.baseline, self.metric_floor)):
            run.status = "plateaued"
            run.status_detail = (f"stopped at step {self.step}: no progress in its last "
                                 f"{PLATEAU_EVALUATIONS * self.config.eval_every} steps")
        return metric

    def _stop_cells_whose_verdict_is_known(self) -> None:
        """Once every gated cell has ended, stop a plain RNN that has trained as long and still sits at the
        baseline (lstm_viz.core.stopping): nothing it could still show would change the verdict."""
        # The Transformer has no gates but reaches every earlier step directly: like the gated cells it is a contender
        # the verdict waits for, never the plain cell stopped at the baseline.
        cells = {
            arch: {"gated": bool(run.model.architecture.gate_names) or not run.model.architecture.recurrent,
                   "active": run.active,
                   "steps": run.steps[-1] if run.steps else 0, "metrics": run.eval_metric}
            for arch, run in self.runs.items()
        }
        stop, deciders = plain_cells_to_stop(cells, self.baseline, self.metric_floor)
        if not stop:
            return
        last = cells[deciders[0]]["steps"]
        events = {}
        for arch in deciders:
            events.setdefault(self.runs[arch].status, []).append(f"the {self.runs[arch].label}")
        what = " and ".join(f"{' and '.join(labels)} {status}" for status, labels in events.items())
        when = f"when {what}" if last == self.step else f"{self.step - last} steps after {what} (step {last})"
        for arch in stop:
            run = self.runs[arch]
            run.status = "baseline"
            run.status_detail = (
                f"stopped at step {self.step}: still at the {self.task.baseline_name} (test {self.task.metric_name} "
                f"{run.last_metric:.3f}; baseline {self.baseline:.3f}) {when}"
            )

    def checkpoint(self, run: ArchRun) -> None:
        """Keep a copy of `run`'s weights and its gradient flow at this step (thinned to max_checkpoints)."""
        flow = measure_gradient_flow(run.model, self.task, self.probe_inputs, self.probe_targets)
        state = {name: tensor.detach().clone() for name, tensor in run.model.state_dict().items()}
        metric = run.eval_metric[-1] if run.eval_steps and run.eval_steps[-1] == self.step else None
        run.checkpoints.append(Checkpoint(step=self.step, state_dict=state, gradient_flow=flow, eval_metric=metric))
        if len(run.checkpoints) > self.config.max_checkpoints:
            # Thin the middle evenly; keep the initial state (the "at initialisation" curve) and the latest.
            run.checkpoints = run.checkpoints[:1] + run.checkpoints[1:-1][1::2] + run.checkpoints[-1:]

    # ----- summaries -----
    def summary(self) -> dict[str, dict]:
        return {
            arch: {
                "label": run.label,
                "status": run.status,
                "status_detail": run.status_detail,
                "final_metric": run.last_metric,
                "best_metric": run.best_metric if math.isfinite(run.best_metric) else None,
                "solved_step": run.solved_step,
                "solved_after_seconds": run.eval_elapsed[run.eval_steps.index(run.solved_step)] if run.solved_step else None,
                "steps_trained": run.steps[-1] if run.steps else 0,
            }
            for arch, run in self.runs.items()
        }

    def verdict(self) -> str:
        """One sentence per cell: where it got, and why it ended, in the user's terms."""
        return verdict_text.verdict(self)


def iter_training(config: RunConfig) -> Iterator[ProgressEvent]:
    trainer = Trainer(config)
    while not trainer.finished:
        yield trainer.train_step()
