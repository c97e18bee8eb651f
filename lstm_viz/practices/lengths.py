"""Consistent lengths: the adding problem with a true length drawn per sequence, trained three ways on identical
batches from identical initial weights.

- **packed**: the batch padded at the end and given to the fused cell with its lengths
  (`torch.nn.utils.rnn.pack_padded_sequence`); the state stops at each sequence's true length.
- **padded**: the same padded tensor without the lengths; the model reads the padding (zeros) to the longest length.
  Padding goes at the END (post-padding): the packed model then reads the very same tensor, so the only difference
  is whether the model is told the lengths, and it is the case that hurts (the state must survive the padding;
  pre-padding would put the zeros before the data and end every sequence on its last true step).
- **truncated**: every sequence cut to a fixed length (shorter ones packed at their own length); what lies beyond the
  cut, often the second marked value, is lost.

Every variant is scored on the same test sequences (the truncated one on their first steps, as it would be used).
The gates of one test example, read step by step from the trained weights, show what the unpacked LSTM does over
the padding. The experiment is one job of the server's scheduler; finished results are kept per server.
"""
from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from typing import Callable, Hashable, Iterator

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from lstm_viz.practices.experiment_thread import Update
from lstm_viz.practices.length_gates import example_trace
from lstm_viz.rules.errors import ConfigError
from lstm_viz.rules.ranges import (
    BATCH_SIZE_RANGE, LAB_HIDDEN_RANGE, LAB_LENGTH_EVAL_SIZE, LAB_LENGTH_RANGE, LAB_LENGTH_STEPS_RANGE,
    LEARNING_RATE_RANGE, SEED_RANGE,
)
from lstm_viz.runs.scheduler import Scheduler

VARIANTS = ("packed", "padded", "truncated")
VARIANT_LABELS = {"packed": "padded + packed", "padded": "padded, not packed", "truncated": "truncated"}
CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
LENGTHS_KIND = "lab lengths"  # the scheduler's kind of job
EVAL_EVERY = 50
TEST_SEED_OFFSET = 7_919  # the test sequences' generator: never the training batches'
_POLL_SECONDS = 0.25


@dataclass(frozen=True)
class LengthsConfig:
    arch: str = "lstm"
    min_length: int = 10
    max_length: int = 50
    truncate_to: int = 20
    hidden_size: int = 32
    batch_size: int = 64
    steps: int = 600
    learning_rate: float = 1e-2
    seed: int = 0

    def validate(self) -> "LengthsConfig":
        if self.arch not in CELLS:
            raise ConfigError(f"cell must be one of {', '.join(CELLS)} (got {self.arch!r})")
        low, high = LAB_LENGTH_RANGE
        for label, value in (("shortest length", self.min_length), ("longest length", self.max_length),
                             ("truncation length", self.truncate_to)):
            if not isinstance(value, int) or not low <= value <= high:
                raise ConfigError(f"{label} must be a whole number between {low} and {high} (got {value!r})")
        if self.min_length >= self.max_length:
            raise ConfigError(f"the shortest length ({self.min_length}) must be below the longest ({self.max_length})")
        if self.truncate_to >= self.max_length:
            raise ConfigError(f"truncate below the longest length ({self.max_length}); got {self.truncate_to}")
        for label, value, (low, high) in (("hidden size", self.hidden_size, LAB_HIDDEN_RANGE),
                                          ("batch size", self.batch_size, BATCH_SIZE_RANGE),
                                          ("steps", self.steps, LAB_LENGTH_STEPS_RANGE),
                                          ("seed", self.seed, SEED_RANGE)):
            if not isinstance(value, int) or not low <= value <= high:
                raise ConfigError(f"{label} must be a whole number between {low:,} and {high:,} (got {value!r})")
        if not LEARNING_RATE_RANGE[0] <= self.learning_rate <= LEARNING_RATE_RANGE[1]:
            raise ConfigError(f"learning rate must be between {LEARNING_RATE_RANGE[0]:g} and "
                              f"{LEARNING_RATE_RANGE[1]:g} (got {self.learning_rate!r})")
        return self


def variable_adding(count: int, min_length: int, max_length: int, generator: torch.Generator
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(inputs (count, max_length, 2) padded with zeros at the end, true lengths (count,), targets (count, 1)).
    As the adding problem: a value ~ U[0,1] and a marker per step, one marker in each half of the TRUE length."""
    lengths = torch.randint(min_length, max_length + 1, (count,), generator=generator)
    values = torch.rand(count, max_length, generator=generator)
    half = lengths // 2
    first = (torch.rand(count, generator=generator) * half).long()
    second = half + (torch.rand(count, generator=generator) * (lengths - half)).long()
    rows = torch.arange(count)
    markers = torch.zeros(count, max_length)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    inside = torch.arange(max_length).unsqueeze(0) < lengths.unsqueeze(1)
    values, markers = values * inside, markers * inside
    targets = (values[rows, first] + values[rows, second]).unsqueeze(-1)
    return torch.stack([values, markers], dim=-1), lengths, targets


class LengthsModel(nn.Module):
    """A fused cell and a linear readout of the final hidden state; `packed` says whether it is told the lengths."""

    def __init__(self, arch: str, hidden_size: int, input_size: int = 2):
        super().__init__()
        self.arch = arch
        self.recurrent = CELLS[arch](input_size, hidden_size, batch_first=True)
        self.readout = nn.Linear(hidden_size, 1)

    def final_state(self, inputs: torch.Tensor, lengths: torch.Tensor | None):
        """The last layer's final hidden state (and the LSTM's cell state): at each true length when `lengths` is
        given (packed), else after the last padded step."""
        if lengths is None:
            _, state = self.recurrent(inputs)
        else:
            packed = pack_padded_sequence(inputs, lengths.cpu(), batch_first=True, enforce_sorted=False)
            _, state = self.recurrent(packed)
        hidden, cell = state if isinstance(state, tuple) else (state, None)
        return hidden[-1], (None if cell is None else cell[-1])

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        return self.readout(self.final_state(inputs, lengths)[0])


def variant_inputs(variant: str, inputs: torch.Tensor, lengths: torch.Tensor, truncate_to: int):
    """What each variant reads of a padded batch: (inputs, lengths or None)."""
    if variant == "packed":
        return inputs, lengths
    if variant == "padded":
        return inputs, None
    return inputs[:, :truncate_to], lengths.clamp(max=truncate_to)


def build_models(config: LengthsConfig) -> dict[str, LengthsModel]:
    """The three variants from one seed: identical initial weights."""
    models = {}
    for variant in VARIANTS:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            models[variant] = LengthsModel(config.arch, config.hidden_size)
    return models


def held_out_set(config: LengthsConfig):
    generator = torch.Generator().manual_seed(config.seed + TEST_SEED_OFFSET)
    return variable_adding(LAB_LENGTH_EVAL_SIZE, config.min_length, config.max_length, generator)


def evaluate(model: LengthsModel, variant: str, data, truncate_to: int) -> float:
    inputs, lengths, targets = data
    with torch.no_grad():
        outputs = model(*variant_inputs(variant, inputs, lengths, truncate_to))
    return float(((outputs - targets) ** 2).mean())


@dataclass(frozen=True)
class LengthsResult:
    config: LengthsConfig
    metrics: dict  # variant -> test MSE after training
    curves: dict  # variant -> (steps, test MSE) every EVAL_EVERY steps
    seconds: dict  # variant -> measured training seconds
    baseline: float  # MSE of predicting the mean sum, 1/6
    trace: dict = field(default_factory=dict)  # example_trace: one test example through both models

    def to_dict(self) -> dict:
        return asdict(self)


def _train_step(models, optimisers, batch, truncate_to: int, seconds: dict) -> None:
    inputs, lengths, targets = batch
    for variant, model in models.items():
        started = time.perf_counter()
        optimisers[variant].zero_grad(set_to_none=True)
        loss = ((model(*variant_inputs(variant, inputs, lengths, truncate_to)) - targets) ** 2).mean()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimisers[variant].step()
        seconds[variant] += time.perf_counter() - started


def iter_lengths_training(config: LengthsConfig, should_stop: Callable[[], bool]) -> Iterator[Update]:
    """Train the three variants step by step on the same batches; the last Update's `partial` is the result
    (no result when stopped)."""
    config.validate()
    models = build_models(config)
    optimisers = {variant: torch.optim.Adam(model.parameters(), lr=config.learning_rate)
                  for variant, model in models.items()}
    generator = torch.Generator().manual_seed(config.seed)
    test = held_out_set(config)
    curves = {variant: ([0], [evaluate(model, variant, test, config.truncate_to)]) for variant, model in models.items()}
    seconds = {variant: 0.0 for variant in VARIANTS}
    for step in range(1, config.steps + 1):
        if should_stop():
            return
        batch = variable_adding(config.batch_size, config.min_length, config.max_length, generator)
        _train_step(models, optimisers, batch, config.truncate_to, seconds)
        if step % EVAL_EVERY == 0 or step == config.steps:
            for variant, model in models.items():
                curves[variant][0].append(step)
                curves[variant][1].append(evaluate(model, variant, test, config.truncate_to))
        yield Update(step, config.steps, f"step {step:,} of {config.steps:,}")
    metrics = {variant: curve[1][-1] for variant, curve in curves.items()}
    trace = example_trace(models["packed"], models["padded"], test)
    yield Update(config.steps, config.steps, "done", LengthsResult(
        config=config, metrics=metrics, curves={v: (list(s), list(m)) for v, (s, m) in curves.items()},
        seconds=seconds, baseline=1.0 / 6.0, trace=trace))


class ResultCache:
    """Finished results by their config, per server process (a second session asking gets them at once)."""

    def __init__(self, max_entries: int = 64):
        self.max_entries = max_entries
        self._results: OrderedDict[LengthsConfig, LengthsResult] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, config: LengthsConfig) -> LengthsResult | None:
        with self._lock:
            return self._results.get(config)

    def put(self, result: LengthsResult) -> None:
        with self._lock:
            self._results[result.config] = result
            while len(self._results) > self.max_entries:
                self._results.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._results.clear()


RESULTS = ResultCache()


def iter_lengths(config: LengthsConfig, should_stop: Callable[[], bool], scheduler: Scheduler | None = None,
                 owner: Hashable = None, cache: ResultCache | None = RESULTS) -> Iterator[Update]:
    """The experiment as one job of `scheduler` (queued under `owner`), or from `cache` if it ran before."""
    config.validate()
    cached = cache.get(config) if cache is not None else None
    if cached is not None:
        yield Update(1.0, 1.0, "taken from this server's earlier run", cached)
        return
    ticket, completed = None, False
    try:
        if scheduler is not None:
            ticket = scheduler.submit(owner, LENGTHS_KIND, 3.0 * config.steps, label="consistent lengths")
            while not ticket.wait_admitted(_POLL_SECONDS):
                if should_stop() or ticket.cancelled:
                    return
                yield Update(0.0, config.steps, "waiting for a slot of the server", queued=ticket)
        stop = (lambda: should_stop() or ticket.should_stop()) if ticket is not None else should_stop
        for update in iter_lengths_training(config, stop):
            if ticket is not None:
                ticket.progress(3.0 * update.done)
            if isinstance(update.partial, LengthsResult) and cache is not None:
                cache.put(update.partial)
                completed = True
            yield update
    finally:
        if ticket is not None:
            ticket.finish(completed=completed)


def lengths_takeaway(result: LengthsResult) -> str:
    """One sentence from the numbers: which variant scored best and by how much, and (for an LSTM) the forget
    gate of the unpacked model over the padding."""
    metrics, cut = result.metrics, result.config.truncate_to
    packed, padded, truncated = (metrics[variant] for variant in VARIANTS)
    numbers = (f"MSE {packed:.3g} packed against {padded:.3g} padded without packing and {truncated:.3g} "
               f"truncated to {cut} steps")
    best = min(VARIANTS, key=lambda variant: metrics[variant])
    runner_up = min(metrics[variant] for variant in VARIANTS if variant != best)
    if best == "packed" and packed < 0.9 * runner_up:
        text = f"Packing wins: {numbers}"
    elif best == "packed" or packed <= 1.1 * metrics[best]:
        text = f"Packing made little difference: {numbers}"
    else:
        text = f"Packing did not help here: {VARIANT_LABELS[best]} did best, {numbers}"
    forget = result.trace.get("padding_forget") if result.trace else None
    if forget is not None and math.isfinite(forget):
        padded_steps = result.trace["max_length"] - result.trace["length"]
        text += (f"; over the {padded_steps} padded steps of a length-{result.trace['length']} example the unpacked "
                 f"LSTM's forget gate averages {forget:.2f}, which keeps {result.trace['padding_retained']:.2g} of "
                 "its cell state")
    return text + "."


def metric_rows(result: LengthsResult) -> list[dict]:
    """The table: one row per variant."""
    return [{"variant": VARIANT_LABELS[variant], "test MSE": result.metrics[variant],
             "MSE / baseline": result.metrics[variant] / result.baseline,
             "training seconds": result.seconds[variant]} for variant in VARIANTS]
