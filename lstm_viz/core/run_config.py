"""A training run's settings (`RunConfig`): what to train, on which task, for how long; its checks, its compute
estimates and its JSON form. The Trainer (lstm_viz.core.trainer) runs one; the shared cache, the sweep cache and the
Gradient lab's caches key runs by `RunConfig.key()`.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import torch

from lstm_viz.rules import checks
from lstm_viz.rules.errors import ConfigError, LstmVizError
from lstm_viz.rules.ranges import (
    BATCH_SIZE_RANGE, CLIP_RANGE, EVAL_SIZE_RANGE, EVERY_RANGE, FORGET_BIAS_RANGE, HEADS_RANGE, HIDDEN_SIZE_RANGE, LAYER_RANGE,
    LEARNING_RATE_RANGE, MAX_CHECKPOINTS_RANGE, MAX_STEPS_RANGE, PATIENCE_RANGE, PROBE_SIZE_RANGE, SEED_RANGE,
    SEQUENCE_LENGTH_RANGE, STEP_GFLOP_RANGE, TRACE_EXAMPLES_RANGE,
)
from lstm_viz.core.architectures import ARCHITECTURES
from lstm_viz.core.architectures.transformer import POSITION_KINDS
from lstm_viz.core.model import ModelConfig
from lstm_viz.core.tasks import TASKS, Task, get_task

OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "rmsprop": torch.optim.RMSprop,
    "sgd": torch.optim.SGD,
}
MAX_TASK_OPTIONS = 8
TRANSFORMER_ONLY = ("heads", "positions")
MAX_OPTION_TEXT_CHARS = 200
# Each knob has its own range (lstm_viz.rules.ranges), but their product is what costs time: a 3-layer H=512 LSTM on
# T=1000 took 37 s per step here and 63 s to set up. Above this budget a setting is refused with a message.
MAX_STEP_GFLOP = 60.0  # about 1.3 s per step here; the default preset needs 0.8
MEASURED_GFLOP_PER_SECOND = 45.0  # fused training steps of mid-sized models on one core of this machine


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
    # The Transformer's own knobs (ModelConfig.heads, positions); `key` leaves them out when no Transformer trains,
    # so a recurrent run keeps the key it had before they existed (shipped runs, caches).
    heads: int = 2
    positions: str = "sinusoidal"

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

    def _forward_multiply_adds(self, task: Task, first_layer_width: int) -> float:
        """Multiply-adds of one sequence's forward pass through every architecture's recurrent layers."""
        steps = task.sequence_length(self.length)
        total = 0.0
        for arch in self.archs:
            for layer in range(self.num_layers):
                layer_input = first_layer_width if layer == 0 else self.hidden_size
                total += ARCHITECTURES[arch].layer_multiply_adds(steps, layer_input, self.hidden_size, layer)
        return total

    def estimated_step_gflop(self) -> float:
        """Multiply-adds of one training step of every architecture (forward, and backward at twice that)."""
        task = self.make_task()
        total = 3 * self.batch_size * self._forward_multiply_adds(task, task.embedding_size or task.input_size)
        if task.embedding_size:
            # One-hot rows times the embedding matrix, and its weight gradient (the inputs need none).
            steps = task.sequence_length(self.length)
            total += len(self.archs) * 2 * 2 * self.batch_size * steps * task.input_size * task.embedding_size
        return total / 1e9

    def estimated_evaluation_gflop(self) -> float:
        """Multiply-adds of one evaluation on the test set plus one gradient probe (forward and backward) of every
        architecture: what a Trainer spends when it starts, and every eval_every steps. The first layer is counted
        at the one-hot width even where the task embeds its tokens: an upper bound, as the budget check wants."""
        task = self.make_task()
        return (self.eval_size + 3 * self.probe_size) * self._forward_multiply_adds(task, task.input_size) / 1e9

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
        checks.whole_number("length", self.length, *SEQUENCE_LENGTH_RANGE)  # the task's own range: in validate
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
        checks.whole_number("attention heads", self.heads, *HEADS_RANGE)
        checks.one_of("positions", self.positions, POSITION_KINDS)
        if self.patience is not None:
            checks.whole_number("patience", self.patience, *PATIENCE_RANGE)
        if self.max_step_gflop is not None:
            checks.real_number("max_step_gflop", self.max_step_gflop, *STEP_GFLOP_RANGE)

    def model_config(self, arch: str) -> ModelConfig:
        task = self.make_task()
        transformer = {}
        if arch == "transformer":
            # Learned positions cover 4x the trained length, so a model can be tested at 2T and 4T; the rows past T
            # are never trained, which is what such a test shows.
            learned = self.positions == "learned"
            transformer = dict(heads=self.heads, positions=self.positions,
                               max_positions=4 * task.sequence_length(self.length) if learned else 0)
        return ModelConfig.for_task(
            arch,
            task,
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            dropout=self.dropout,
            forget_bias=self.forget_bias,
            **transformer,
        )

    def to_dict(self) -> dict:
        return asdict(self)

    def key(self) -> str:
        """The config's canonical JSON (sorted keys, no spaces): equal configs, equal keys, in every process. The
        caches of runs, sweep points and Gradient lab probes are keyed by it."""
        values = self.to_dict()
        if "transformer" not in self.archs:
            for name in TRANSFORMER_ONLY:
                values.pop(name)
        return json.dumps(values, sort_keys=True, separators=(",", ":"))

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
