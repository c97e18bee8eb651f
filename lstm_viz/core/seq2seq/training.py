"""A seeded trainer for the encoder-decoder: teacher forcing, Adam, gradient clipping, progress events (steps, loss,
time) and a stop a scheduler ticket can ask for (lstm_viz.runs.scheduler.Ticket: should_stop, progress).

Same config, same seed: the same weights (the initial weights and the batches come from generators of their own).
The caller chooses the torch threads (the CLI and the page's jobs use one).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Callable, Literal

import torch
from torch import Tensor

from lstm_viz.data.translation_pairs import BOS_ID, EOS_ID, PAD_ID
from lstm_viz.core.seq2seq.model import Seq2Seq, Seq2SeqConfig
from lstm_viz.core.tasks import get_translation_task
from lstm_viz.core.tasks.translation_base import TranslationExample, TranslationTask
from lstm_viz.rules import checks
from lstm_viz.rules.ranges import (
    BATCH_SIZE_RANGE, CLIP_RANGE, DROPOUT_RANGE, LEARNING_RATE_RANGE, MAX_STEPS_RANGE, SEED_RANGE, SEQ2SEQ_EMBEDDING_RANGE,
    SEQ2SEQ_HIDDEN_RANGE,
)


@dataclass(frozen=True)
class TranslationTrainingConfig:
    task: str = "dates"
    attention: bool = True
    dropout: float = 0.0
    cell: Literal["lstm", "gru"] = "lstm"
    embedding_size: int = 32
    hidden_size: int = 64
    steps: int = 1500
    batch_size: int = 64
    learning_rate: float = 3e-3
    clip: float = 1.0
    seed: int = 0

    def validate(self) -> "TranslationTrainingConfig":
        get_translation_task(self.task)
        checks.flag("attention", self.attention)
        checks.real_number("dropout", self.dropout, *DROPOUT_RANGE, below_high=True)
        checks.whole_number("embedding size", self.embedding_size, *SEQ2SEQ_EMBEDDING_RANGE)
        checks.whole_number("hidden size", self.hidden_size, *SEQ2SEQ_HIDDEN_RANGE)
        checks.whole_number("steps", self.steps, *MAX_STEPS_RANGE)
        checks.whole_number("batch size", self.batch_size, *BATCH_SIZE_RANGE)
        checks.real_number("learning rate", self.learning_rate, *LEARNING_RATE_RANGE)
        checks.real_number("gradient clipping", self.clip, *CLIP_RANGE)
        checks.whole_number("seed", self.seed, *SEED_RANGE)
        return self

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TrainingProgress:
    step: int
    loss: float  # mean cross-entropy per target token (nats) over the steps since the last event
    elapsed_seconds: float
    steps_per_second: float


def padded(rows: list[list[int]]) -> Tensor:
    """(len(rows), longest) ids, <pad> after each row's end."""
    out = torch.full((len(rows), max(map(len, rows))), PAD_ID, dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, :len(row)] = torch.tensor(row, dtype=torch.long)
    return out


def encode_examples(task: TranslationTask, examples: list[TranslationExample]) -> dict[str, Tensor]:
    """Tensors of a set of examples: source, lengths, target_in (<bos> + target) and target_out (target + <eos>)."""
    source_vocabulary, target_vocabulary = task.vocabularies
    sources = [source_vocabulary.encode(e.source_tokens)[0] for e in examples]
    targets = [target_vocabulary.encode(e.target_tokens)[0] for e in examples]
    return {"source": padded(sources), "lengths": torch.tensor([len(s) for s in sources]),
            "target_in": padded([[BOS_ID, *t] for t in targets]), "target_out": padded([[*t, EOS_ID] for t in targets])}


def build_model(config: TranslationTrainingConfig, task: TranslationTask) -> Seq2Seq:
    source_vocabulary, target_vocabulary = task.vocabularies
    model_config = Seq2SeqConfig(len(source_vocabulary), len(target_vocabulary), config.embedding_size,
                                 config.hidden_size, config.cell, config.attention, config.dropout)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        return Seq2Seq(model_config)


def token_loss(model: Seq2Seq, batch: dict[str, Tensor]) -> Tensor:
    """Mean cross-entropy per real target token (padding ignored)."""
    logits = model(batch["source"], batch["lengths"], batch["target_in"])
    return torch.nn.functional.cross_entropy(logits.transpose(1, 2), batch["target_out"], ignore_index=PAD_ID)


class TranslationTrainer:
    def __init__(self, config: TranslationTrainingConfig):
        self.config = config.validate()
        self.task = get_translation_task(config.task)
        self.model = build_model(config, self.task)
        self.data = encode_examples(self.task, self.task.examples("train"))
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.learning_rate)
        self.batches = torch.Generator().manual_seed(config.seed + 1)
        self.step = 0

    def _batch(self) -> dict[str, Tensor]:
        rows = torch.randint(len(self.data["lengths"]), (self.config.batch_size,), generator=self.batches)
        lengths = self.data["lengths"][rows]
        target_steps = int((self.data["target_out"][rows] != PAD_ID).sum(1).max())
        return {"source": self.data["source"][rows, :int(lengths.max())], "lengths": lengths,
                "target_in": self.data["target_in"][rows, :target_steps],
                "target_out": self.data["target_out"][rows, :target_steps]}

    def train_step(self) -> float:
        self.model.train()
        loss = token_loss(self.model, self._batch())
        self.optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.clip)
        self.optimizer.step()
        self.step += 1
        return float(loss.detach())

    def run(self, ticket=None, on_progress: Callable[[TrainingProgress], None] | None = None,
            report_every: int = 50, progress_offset: int = 0) -> list[TrainingProgress]:
        """Train to config.steps (or until `ticket.should_stop()`), reporting every `report_every` steps; the
        ticket hears `progress_offset` + steps done (a job training several models in turn counts them all)."""
        history: list[TrainingProgress] = []
        started, losses = time.perf_counter(), []
        while self.step < self.config.steps:
            if ticket is not None and ticket.should_stop():
                break
            losses.append(self.train_step())
            if self.step % report_every == 0 or self.step == self.config.steps:
                elapsed = time.perf_counter() - started
                event = TrainingProgress(self.step, sum(losses) / len(losses), elapsed, self.step / max(elapsed, 1e-9))
                history.append(event)
                losses = []
                if ticket is not None:
                    ticket.progress(progress_offset + self.step)
                if on_progress is not None:
                    on_progress(event)
        self.model.eval()
        return history
