"""Writing a translation: greedy (the likeliest next token each step, a batch at once) and beam search (the `width`
likeliest partial translations kept each step, one sentence).

Beam search ranks finished translations by their mean log-probability per token (the <eos> included), so a short
translation is not preferred only for having fewer factors below one. Both stop at <eos> or at `max_tokens`.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from lstm_viz.data.translation_pairs import BOS_ID, EOS_ID
from lstm_viz.core.seq2seq.model import Seq2Seq, select_state
from lstm_viz.rules import checks
from lstm_viz.rules.ranges import BEAM_WIDTH_RANGE, DECODE_LENGTH_RANGE


@dataclass(frozen=True)
class Decoded:
    tokens: list[int]  # the written ids, <eos> excluded
    log_probability: float  # summed over the written tokens and the <eos> (if it was written)
    attention: Tensor | None  # (written tokens + <eos>, source length) or None without attention
    finished: bool  # wrote <eos> before max_tokens


def greedy_batch(model: Seq2Seq, source: Tensor, lengths: Tensor, max_tokens: int
                 ) -> tuple[Tensor, Tensor | None]:
    """(ids (B, steps), attention (B, steps, S) or None): at each step the likeliest token; rows that wrote <eos>
    keep writing <eos>."""
    checks.whole_number("max tokens", max_tokens, *DECODE_LENGTH_RANGE)
    with torch.no_grad():
        memory, state, mask = model.encode(source, lengths)
        token = torch.full((source.shape[0], 1), BOS_ID, dtype=torch.long)
        written, weights, done = [], [], torch.zeros(source.shape[0], dtype=torch.bool)
        for _ in range(max_tokens):
            logits, state, step_weights = model.decode(token, state, memory, mask)
            token = logits[:, -1].argmax(-1, keepdim=True)
            token[done] = EOS_ID
            written.append(token)
            if step_weights is not None:
                weights.append(step_weights)
            done |= token[:, 0] == EOS_ID
            if bool(done.all()):
                break
    return torch.cat(written, dim=1), torch.cat(weights, dim=1) if weights else None


def greedy(model: Seq2Seq, source_ids: list[int], max_tokens: int) -> Decoded:
    """One sentence, greedily."""
    ids, weights = greedy_batch(model, torch.tensor([source_ids]), torch.tensor([len(source_ids)]), max_tokens)
    tokens = ids[0].tolist()
    finished = EOS_ID in tokens
    steps = tokens.index(EOS_ID) + 1 if finished else len(tokens)
    return Decoded(tokens[:steps - int(finished)], sequence_log_probability(model, source_ids, tokens[:steps]),
                   None if weights is None else weights[0, :steps], finished)


def sequence_log_probability(model: Seq2Seq, source_ids: list[int], written: list[int]) -> float:
    """log P(written | source) under teacher forcing: what beam search maximises, recomputed in one pass."""
    with torch.no_grad():
        target_in = torch.tensor([[BOS_ID, *written[:-1]]])
        logits = model(torch.tensor([source_ids]), torch.tensor([len(source_ids)]), target_in)
        log_probs = torch.log_softmax(logits[0], dim=-1)
        return float(log_probs[torch.arange(len(written)), torch.tensor(written)].sum())


def beam(model: Seq2Seq, source_ids: list[int], width: int, max_tokens: int) -> Decoded:
    """The best translation beam search finds with `width` hypotheses; width 1 is greedy."""
    checks.whole_number("beam width", width, *BEAM_WIDTH_RANGE)
    checks.whole_number("max tokens", max_tokens, *DECODE_LENGTH_RANGE)
    with torch.no_grad():
        memory, state, mask = model.encode(torch.tensor([source_ids]), torch.tensor([len(source_ids)]))
        alive: list[tuple[list[int], float]] = [([], 0.0)]
        finished: list[tuple[list[int], float]] = []
        for _ in range(max_tokens):
            rows = len(alive)
            last = torch.tensor([[hyp[-1] if hyp else BOS_ID] for hyp, _ in alive])
            logits, state, _ = model.decode(last, state, memory.expand(rows, -1, -1), mask.expand(rows, -1))
            scores = torch.log_softmax(logits[:, -1], -1) + torch.tensor([score for _, score in alive])[:, None]
            top = scores.flatten().topk(min(width, scores.numel()))
            chosen, next_alive = [], []
            for value, flat in zip(top.values.tolist(), top.indices.tolist()):
                row, token = divmod(flat, scores.shape[1])
                hypothesis = alive[row][0] + [token]
                if token == EOS_ID:
                    finished.append((hypothesis, value))
                else:
                    next_alive.append((hypothesis, value))
                    chosen.append(row)
            if not next_alive or len(finished) >= width:
                break
            alive, state = next_alive, select_state(state, torch.tensor(chosen))
    pool = finished or alive
    best, _ = max(pool, key=lambda item: item[1] / len(item[0]))
    return _decoded(model, source_ids, best)


def _decoded(model: Seq2Seq, source_ids: list[int], written: list[int]) -> Decoded:
    """A hypothesis with its log-probability and attention recomputed by teacher forcing."""
    finished = bool(written) and written[-1] == EOS_ID
    with torch.no_grad():
        memory, state, mask = model.encode(torch.tensor([source_ids]), torch.tensor([len(source_ids)]))
        _, _, weights = model.decode(torch.tensor([[BOS_ID, *written[:-1]]]), state, memory, mask)
    return Decoded(written[:-1] if finished else written, sequence_log_probability(model, source_ids, written),
                   None if weights is None else weights[0], finished)
