"""The encoder-decoder: source and target embeddings, a fused nn.LSTM (or nn.GRU) encoder and decoder of one layer,
the decoder started from the encoder's final state, and optionally Luong dot attention over the encoder's states.

Without attention the final encoder state is everything the decoder learns about the source: a fixed-size vector,
whatever the sentence's length. With attention the decoder also reads every encoder state at every step.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from lstm_viz.data.translation_pairs import PAD_ID
from lstm_viz.core.seq2seq.attention import LuongDotAttention
from lstm_viz.rules import checks
from lstm_viz.rules.ranges import DROPOUT_RANGE, SEQ2SEQ_EMBEDDING_RANGE, SEQ2SEQ_HIDDEN_RANGE, SEQ2SEQ_VOCABULARY_RANGE

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU}
State = Tensor | tuple[Tensor, Tensor]  # GRU: h; LSTM: (h, c), each (1, B, H)


@dataclass(frozen=True)
class Seq2SeqConfig:
    source_vocabulary_size: int
    target_vocabulary_size: int
    embedding_size: int = 64
    hidden_size: int = 128
    cell: Literal["lstm", "gru"] = "lstm"
    attention: bool = True
    # Dropout on the embeddings and on the state the readout sees, in training only: 4,445 sentence pairs are few
    # enough for a 500,000-weight model to learn by heart.
    dropout: float = 0.0

    def validate(self) -> "Seq2SeqConfig":
        """Every size checked against lstm_viz.rules.ranges before a weight is allocated."""
        checks.whole_number("source vocabulary", self.source_vocabulary_size, *SEQ2SEQ_VOCABULARY_RANGE)
        checks.whole_number("target vocabulary", self.target_vocabulary_size, *SEQ2SEQ_VOCABULARY_RANGE)
        checks.whole_number("embedding size", self.embedding_size, *SEQ2SEQ_EMBEDDING_RANGE)
        checks.whole_number("hidden size", self.hidden_size, *SEQ2SEQ_HIDDEN_RANGE)
        checks.one_of("cell", self.cell, CELLS)
        checks.flag("attention", self.attention)
        checks.real_number("dropout", self.dropout, *DROPOUT_RANGE, below_high=True)
        return self

    def to_dict(self) -> dict:
        return asdict(self)


class Seq2Seq(nn.Module):
    def __init__(self, config: Seq2SeqConfig):
        super().__init__()
        self.config = config.validate()
        rnn = CELLS[config.cell]
        self.source_embedding = nn.Embedding(config.source_vocabulary_size, config.embedding_size, padding_idx=PAD_ID)
        self.target_embedding = nn.Embedding(config.target_vocabulary_size, config.embedding_size, padding_idx=PAD_ID)
        self.encoder = rnn(config.embedding_size, config.hidden_size, batch_first=True)
        self.decoder = rnn(config.embedding_size, config.hidden_size, batch_first=True)
        self.attention = LuongDotAttention(config.hidden_size) if config.attention else None
        self.readout = nn.Linear(config.hidden_size, config.target_vocabulary_size)
        self.dropout = nn.Dropout(config.dropout)

    def encode(self, source: Tensor, lengths: Tensor) -> tuple[Tensor, State, Tensor]:
        """source (B, S) token ids padded with <pad>, lengths (B,) -> (encoder states (B, S, H) zero past each
        sentence's end, final state at each sentence's last real token, source mask (B, S))."""
        packed = pack_padded_sequence(self.dropout(self.source_embedding(source)), lengths.cpu(), batch_first=True,
                                      enforce_sorted=False)
        outputs, final = self.encoder(packed)
        memory, _ = pad_packed_sequence(outputs, batch_first=True, total_length=source.shape[1])
        mask = torch.arange(source.shape[1])[None, :] < lengths[:, None]
        return memory, final, mask

    def decode(self, target_in: Tensor, state: State, memory: Tensor, mask: Tensor
               ) -> tuple[Tensor, State, Tensor | None]:
        """target_in (B, T) token ids fed to the decoder (teacher forcing, or the last token written) ->
        (logits (B, T, V), the decoder's state after them, attention weights (B, T, S) or None)."""
        outputs, state = self.decoder(self.dropout(self.target_embedding(target_in)), state)
        weights = None
        if self.attention is not None:
            outputs, weights = self.attention(outputs, memory, mask)
        return self.readout(self.dropout(outputs)), state, weights

    def forward(self, source: Tensor, lengths: Tensor, target_in: Tensor) -> Tensor:
        """Teacher-forced logits (B, T, V) for the target tokens that follow `target_in`'s."""
        memory, state, mask = self.encode(source, lengths)
        return self.decode(target_in, state, memory, mask)[0]


def hidden_of(state: State) -> Tensor:
    """The hidden vector h (1, B, H) of a state (an LSTM's is the first of (h, c))."""
    return state[0] if isinstance(state, tuple) else state


def select_state(state: State, index: Tensor) -> State:
    """The state of the batch rows `index` (beam search reorders its hypotheses)."""
    if isinstance(state, tuple):
        return tuple(part[:, index] for part in state)
    return state[:, index]


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
