"""Train several architectures side by side on identical batches, reporting progress as events.

The trainer knows nothing of any UI: a page calls `advance` for a time slice per refresh, a script
iterates `iter_training`. A training step is the bare fused PyTorch step; evaluation, gradient-flow
probes and checkpoints happen every k steps on small fixed batches, so visibility costs little.
"""
from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Iterator

import torch
from torch import Tensor

from lstm_viz.rules import checks
from lstm_viz.core.architectures import ARCHITECTURES
from lstm_viz.rules.errors import ConfigError, LstmVizError
from lstm_viz.core.gradient_flow import GradientFlow, measure_gradient_flow
from lstm_viz.core.model import (
    FORGET_BIAS_RANGE, HIDDEN_SIZE_RANGE, LAYER_RANGE, ModelConfig, SequenceModel, build_model,
)
from lstm_viz.core.stopping import PLATEAU_EVALUATIONS, has_plateaued, plain_cells_to_stop
from lstm_viz.core.tasks import TASKS, Task, get_task

OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "rmsprop": torch.optim.RMSprop,
    "sgd": torch.optim.SGD,
}
# The ranges of RunConfig's fields, checked by RunConfig.validate for every way in (the UI's widgets read them here).
BATCH_SIZE_RANGE = (1, 512)
MAX_STEPS_RANGE = (1, 100_000)
LEARNING_RATE_RANGE = (1e-6, 10.0)
CLIP_RANGE = (0.01, 100.0)
SEED_RANGE = (0, 2**31 - 1)  # torch.manual_seed takes 64 bits; the offsets below must stay inside them
EVERY_RANGE = (1, 100_000)  # eval_every, probe_every: steps between evaluations, between probes
# The test set, the probe batch and the traced examples are allocated when a Trainer starts: bounded so an edited
# file cannot ask for 100,000 test sequences (F1 of issue 10: +7.7 GB).
EVAL_SIZE_RANGE = (1, 2048)
PROBE_SIZE_RANGE = (1, 64)
TRACE_EXAMPLES_RANGE = (1, 16)
MAX_CHECKPOINTS_RANGE = (2, 256)
PATIENCE_RANGE = (0, 100_000)
STEP_GFLOP_RANGE = (1e-3, 1e6)
MAX_TASK_OPTIONS = 8
MAX_OPTION_TEXT_CHARS = 200
# Each knob has its own range, but their product is what costs time: a 3-layer H=512 LSTM on T=1000
# took 37 s per step here and 63 s to set up. Above this budget a setting is refused with a message.
MAX_STEP_GFLOP = 60.0  # about 1.3 s per step here; the default preset needs 0.8
MEASURED_GFLOP_PER_SECOND = 45.0  # fused training steps of mid-sized models on one core of this machine


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


@dataclass(frozen=True)
class RunConfig:
    task: str = "adding"
    # Settings of a task that needs them, e.g. (("series", "airline"),): sorted (name, value) pairs so the config
    # stays hashable and its JSON form is stable (the shared cache keys runs by it).
    task_options: tuple[tuple[str, object], ...] = ()
    length: int = 100
    archs: tuple[str, ...] = ("rnn", "lstm")
    hidden_size: int = 64
    num_layers: int = 1
    dropout: float = 0.0
    forget_bias: float = 0.0
    optimizer: str = "adam"
    learning_rate: float = 1e-2  # adding T=100: the LSTM solves it in about 700 steps at this rate
    batch_size: int = 64
    clip_grad_norm: float | None = 1.0  # None: no clipping (the total norm is still recorded)
    seed: int = 0
    max_steps: int = 1500
    eval_every: int = 25
    eval_size: int = 256  # the test MSE to about 9% relative; 512 would cost ~11% of training time
    probe_every: int = 50
    probe_size: int = 16
    trace_examples: int = 4  # the first probe sequences, whose gates the pages show
    stop_when_solved: bool = True
    # Evaluations without a 1% improvement before an architecture stops, even on the baseline. None: the
    # verdict's own rules (lstm_viz.core.stopping) decide when a cell has plateaued.
    patience: int | None = None
    # Off: the run ends when its verdict is known (lstm_viz.core.stopping). On: every cell trains until it solves,
    # diverges or uses the step budget, as a check that the RNN's failure is not a matter of time.
    train_to_budget: bool = False
    max_checkpoints: int = 64
    max_step_gflop: float | None = MAX_STEP_GFLOP  # None lifts the compute budget (scripts that know what they ask)

    def __post_init__(self) -> None:
        options = self.task_options.items() if isinstance(self.task_options, dict) else self.task_options
        try:
            pairs = [(str(name), value) for name, value in options]
        except (TypeError, ValueError):
            raise ConfigError(f"task options must be pairs of a name and a value (got {self.task_options!r:.60})") from None
        object.__setattr__(self, "task_options", tuple(sorted(pairs, key=lambda pair: pair[0])))

    def make_task(self) -> Task:
        """The task object this run trains on, configured by task_options."""
        return get_task(self.task).with_options(**dict(self.task_options))

    def estimated_step_gflop(self) -> float:
        """Multiply-adds of one training step of every architecture (forward, and backward at twice that)."""
        task = self.make_task()
        steps = task.sequence_length(self.length)
        total = 0.0
        for arch in self.archs:
            gate_rows = ARCHITECTURES[arch].gate_count * self.hidden_size
            for layer in range(self.num_layers):
                layer_input = (task.embedding_size or task.input_size) if layer == 0 else self.hidden_size
                total += 3 * 2 * self.batch_size * steps * gate_rows * (layer_input + self.hidden_size)
            if task.embedding_size:
                # One-hot rows times the embedding matrix, and its weight gradient (the inputs need none).
                total += 2 * 2 * self.batch_size * steps * task.input_size * task.embedding_size
        return total / 1e9

    def estimated_evaluation_gflop(self) -> float:
        """Multiply-adds of one evaluation on the test set plus one gradient probe (forward and backward) of every
        architecture: what a Trainer spends when it starts, and every eval_every steps."""
        task = self.make_task()
        steps = task.sequence_length(self.length)
        per_sequence = 0.0
        for arch in self.archs:
            gate_rows = ARCHITECTURES[arch].gate_count * self.hidden_size
            for layer in range(self.num_layers):
                layer_input = task.input_size if layer == 0 else self.hidden_size
                per_sequence += 2 * steps * gate_rows * (layer_input + self.hidden_size)
        return (self.eval_size + 3 * self.probe_size) * per_sequence / 1e9

    def validate(self) -> "RunConfig":
        """Every field's type and range, then the rules between fields; ConfigError naming the setting otherwise.
        Runs before any tensor is allocated or any data read: the same checks for every way a config arrives."""
        self._check_fields()
        try:
            task = self.make_task()
        except ConfigError:
            raise
        except (LstmVizError, KeyError, TypeError, ValueError) as error:
            raise ConfigError(f"task options {dict(self.task_options)!r} do not fit the {self.task} task: "
                              f"{str(error).strip(chr(39))}") from None
        if not task.min_length <= self.length <= task.max_length:
            raise ConfigError(f"{task.label}: length must be between {task.min_length} and {task.max_length} (got {self.length})")
        if self.trace_examples > self.probe_size:
            raise ConfigError("trace examples are taken from the probe batch: trace_examples <= probe_size")
        for arch in self.archs:
            self.model_config(arch).validate(task)
        if self.max_step_gflop is not None:
            needed = self.estimated_step_gflop()
            if needed > self.max_step_gflop:
                raise ConfigError(
                    f"this setting needs about {needed:.0f} GFLOP per training step, roughly "
                    f"{needed / MEASURED_GFLOP_PER_SECOND:.0f} s per step on a 2-core CPU; the limit is "
                    f"{self.max_step_gflop:.0f} GFLOP. Lower the hidden size, layers, sequence length or batch size, "
                    "or train fewer architectures"
                )
            needed = self.estimated_evaluation_gflop()
            if needed > self.max_step_gflop:
                raise ConfigError(
                    f"evaluating this setting on its {self.eval_size} test sequences needs about {needed:.0f} GFLOP, "
                    f"roughly {needed / MEASURED_GFLOP_PER_SECOND:.0f} s each time on a 2-core CPU; the limit is "
                    f"{self.max_step_gflop:.0f} GFLOP. Lower the hidden size, layers or sequence length"
                )
        return self

    def _check_fields(self) -> None:
        checks.one_of("task", self.task, TASKS)
        if len(self.task_options) > MAX_TASK_OPTIONS:
            raise ConfigError(f"task options: at most {MAX_TASK_OPTIONS} (got {len(self.task_options)})")
        for name, value in self.task_options:
            checks.text("a task option's name", name, checks.MAX_NAME_CHARS)
            if value is not None and not isinstance(value, str):
                checks.whole_number(f"task option {name!r}", value, -2**31, 2**31 - 1)
            elif value is not None:
                checks.text(f"task option {name!r}", value, MAX_OPTION_TEXT_CHARS)
        if not isinstance(self.archs, tuple) or not self.archs:
            raise ConfigError("pick at least one architecture")
        for arch in self.archs:
            if not isinstance(arch, str) or arch not in ARCHITECTURES:
                raise ConfigError(f"unknown architecture {arch!r}; known: {', '.join(ARCHITECTURES)}")
        if len(set(self.archs)) != len(self.archs):
            raise ConfigError("each architecture may be picked once")
        if not isinstance(self.optimizer, str) or self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"unknown optimizer {self.optimizer!r}; known: {', '.join(OPTIMIZERS)}")
        checks.whole_number("length", self.length, 0, 100_000)  # the task's own range is checked below
        checks.whole_number("hidden size", self.hidden_size, *HIDDEN_SIZE_RANGE)
        checks.whole_number("layers", self.num_layers, *LAYER_RANGE)
        checks.real_number("forget-gate bias", self.forget_bias, *FORGET_BIAS_RANGE)
        checks.whole_number("batch size", self.batch_size, *BATCH_SIZE_RANGE)
        checks.whole_number("step budget", self.max_steps, *MAX_STEPS_RANGE)
        checks.real_number("learning rate", self.learning_rate, *LEARNING_RATE_RANGE)
        if self.clip_grad_norm is not None:
            checks.real_number("gradient clipping threshold", self.clip_grad_norm, *CLIP_RANGE)
        checks.whole_number("seed", self.seed, *SEED_RANGE)
        checks.whole_number("eval_every", self.eval_every, *EVERY_RANGE)
        checks.whole_number("probe_every", self.probe_every, *EVERY_RANGE)
        checks.whole_number("eval_size", self.eval_size, *EVAL_SIZE_RANGE)
        checks.whole_number("probe_size", self.probe_size, *PROBE_SIZE_RANGE)
        checks.whole_number("trace_examples", self.trace_examples, *TRACE_EXAMPLES_RANGE)
        checks.whole_number("max_checkpoints", self.max_checkpoints, *MAX_CHECKPOINTS_RANGE)
        checks.flag("stop_when_solved", self.stop_when_solved)
        checks.flag("train_to_budget", self.train_to_budget)
        if self.patience is not None:
            checks.whole_number("patience", self.patience, *PATIENCE_RANGE)
        if self.max_step_gflop is not None:
            checks.real_number("max_step_gflop", self.max_step_gflop, *STEP_GFLOP_RANGE)

    def model_config(self, arch: str) -> ModelConfig:
        return ModelConfig.for_task(
            arch,
            self.make_task(),
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            dropout=self.dropout,
            forget_bias=self.forget_bias,
        )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "RunConfig":
        """A RunConfig from its JSON form (a file, a shipped run); unknown keys are ignored, a wrongly shaped value is
        a ConfigError. Call validate() on the result before using it."""
        if not isinstance(values, dict):
            raise ConfigError(f"a run config must be a JSON object of settings (got a {type(values).__name__})")
        known = {k: v for k, v in values.items() if k in cls.__dataclass_fields__}
        if "archs" in known:
            archs = known["archs"]
            if not isinstance(archs, (list, tuple)) or len(archs) > len(ARCHITECTURES):
                raise ConfigError(f"archs must be a list of up to {len(ARCHITECTURES)} architecture names "
                                  f"(got {archs!r:.60})")
            known["archs"] = tuple(archs)
        if "task_options" in known:
            options = known["task_options"]
            if isinstance(options, dict):
                known["task_options"] = tuple(options.items())
            elif isinstance(options, (list, tuple)) and all(isinstance(o, (list, tuple)) and len(o) == 2 for o in options):
                known["task_options"] = tuple(map(tuple, options))
            else:
                raise ConfigError(f"task_options must be an object of option names and values (got {options!r:.60})")
        return cls(**known)


@dataclass
class Checkpoint:
    step: int
    # A copy of the weights: traces are recomputed from them exactly on demand, far smaller than storing traces.
    state_dict: dict[str, Tensor]
    gradient_flow: GradientFlow
    eval_metric: float | None


@dataclass
class ArchRun:
    arch: str
    label: str
    model: SequenceModel
    optimizer: torch.optim.Optimizer
    status: str = "training"  # training | solved | diverged | plateaued | baseline | budget | stopped
    status_detail: str = ""
    steps: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)
    eval_metric: list[float] = field(default_factory=list)
    eval_elapsed: list[float] = field(default_factory=list)  # training seconds at each evaluation
    solved_step: int | None = None
    best_metric: float = math.inf
    evals_since_best: int = 0
    checkpoints: list[Checkpoint] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.status == "training"

    @property
    def last_metric(self) -> float | None:
        return self.eval_metric[-1] if self.eval_metric else None


@dataclass
class ProgressEvent:
    step: int
    elapsed: float  # seconds spent training, not waiting between page refreshes
    steps_per_second: float
    train_loss: dict[str, float]
    grad_norm: dict[str, float]  # total gradient norm before clipping
    eval_metric: dict[str, float] | None
    probed: bool
    finished: bool
    stop_reason: str | None


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
                self._for_each(list(self.runs.values()), lambda run: (self._evaluate(run), self._checkpoint(run)))
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
        if self.finished:
            raise RuntimeError("training has finished; start a new Trainer")
        started = self._step_started = time.perf_counter()
        config = self.config
        inputs, targets = self.task.generate(config.batch_size, config.length, self._data_generator)
        self.step += 1
        active_before = {arch for arch, run in self.runs.items() if run.active}
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
                    f"at step {self.step}: lower the learning rate (now {config.learning_rate:g}) or turn on gradient clipping"
                )
        evaluated = self.step % config.eval_every == 0 or self.step >= config.max_steps
        eval_metric = None
        if evaluated:
            evaluating = [run for run in self.runs.values() if run.active]
            eval_metric = dict(zip((run.arch for run in evaluating), self._for_each(evaluating, self._evaluate)))
        if evaluated and not config.train_to_budget:
            self._stop_cells_whose_verdict_is_known()
        if self.step >= config.max_steps:
            for run in self.runs.values():
                if run.active:
                    run.status, run.status_detail = "budget", f"step budget of {config.max_steps} used"
        # A run that ends this step gets a final checkpoint, unless its weights are no longer finite.
        probing = [run for run in self.runs.values()
                   if (run.active and self.step % config.probe_every == 0)
                   or (run.arch in active_before and not run.active and run.status != "diverged")]
        self._for_each(probing, self._checkpoint)
        probed = bool(probing)
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
                    self._checkpoint(run)
        self.stop_reason = reason
        self.close()

    # ----- measurements -----
    @torch.no_grad()
    def _evaluate(self, run: ArchRun) -> float:
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
        cells = {
            arch: {"gated": bool(run.model.architecture.gate_names), "active": run.active,
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

    def _checkpoint(self, run: ArchRun) -> None:
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
        runs = sorted(self.runs.values(), key=lambda run: run.status == "baseline")  # those refer to the others
        sentences = [sentence for sentence in map(self._cell_verdict, runs) if sentence]
        return " ".join(sentence + "." for sentence in sentences)

    def _cell_verdict(self, run: ArchRun) -> str:
        length, metric_name = self.config.length, self.task.metric_name
        ended_at = run.steps[-1] if run.steps else self.step
        if run.status == "diverged":
            return f"{run.label} diverged: {run.status_detail}"
        if run.solved_step is not None:
            solved_metric = run.eval_metric[run.eval_steps.index(run.solved_step)]
            final = run.last_metric
            # The metrics above the charts show the final value: say it too when training went on after solving.
            later = (f", {final:.3f} at the end" if final is not None and run.eval_steps[-1] != run.solved_step
                     and f"{final:.3f}" != f"{solved_metric:.3f}" else "")
            text = (f"{run.label} {self.task.solved_phrase(length)} at step {run.solved_step} "
                    f"({metric_name} {solved_metric:.3f}{later})")
            if run.status == "budget" and ended_at > run.solved_step:
                text += f", then trained on to the step budget of {self.config.max_steps:,}"
            elif run.status == "plateaued":
                text += f", then {run.status_detail}"
            elif run.status == "stopped":
                text += f", then was {run.status_detail}"
            return text
        if run.last_metric is None:
            return ""
        place = self._place(run.last_metric)
        if run.status == "baseline":
            return f"{run.label} {run.status_detail}"
        if run.status == "budget":
            budget = self.config.max_steps
            return f"{run.label} trained the whole budget of {budget:,} step{'s' if budget != 1 else ''} and {place}"
        if run.status == "plateaued":
            return f"{run.label} {place}; it {run.status_detail}"
        if run.status == "stopped":
            return f"{run.label} {place}, then was {run.status_detail}"
        return f"{run.label} {place}"

    def _place(self, value: float) -> str:
        """Where a metric stands against the baseline, e.g. "stayed at 0.170, the no-memory baseline"."""
        baseline, baseline_name = self.baseline, self.task.baseline_name
        # Judged on the way from the best possible value to the baseline: for a language model the floor (the
        # language's own entropy) is far above 0, and 93% of the baseline can be most of the way to the floor.
        floor = self.metric_floor
        relative = (value - floor) / (baseline - floor)
        if relative > 1.1:
            return f"ended at {value:.3f}, worse than the {baseline_name} {baseline:.3f}"
        if relative >= 0.9:
            return f"stayed at {value:.3f}, the {baseline_name}"
        if floor == 0:
            return f"reached {value:.3f} ({value / baseline:.0%} of the {baseline_name} {baseline:.3f}) without solving it"
        return (f"reached {value:.3f}, {1 - relative:.0%} of the way from the {baseline_name} {baseline:.3f} to the "
                f"best possible {floor:.3f}, without solving it")


def iter_training(config: RunConfig) -> Iterator[ProgressEvent]:
    trainer = Trainer(config)
    while not trainer.finished:
        yield trainer.train_step()
