"""How well a trained encoder-decoder translates: exact match, token accuracy and corpus BLEU (sacrebleu, the
maintained implementation), overall and by source length, beside the task's baseline; and where the attention looks.

It sits in core, not analysis, because the CLI (lstm_viz.io, a peer of analysis) writes these metrics too.

BLEU is computed on the tasks' own tokens joined by spaces, with sacrebleu's tokenizer "none" (the text is already
tokenised, and re-tokenising "l'homme" or "2021-03-03" would count different units than the model writes).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import sacrebleu
import torch

from lstm_viz.core.seq2seq.decoding import greedy_batch
from lstm_viz.core.seq2seq.model import Seq2Seq
from lstm_viz.core.seq2seq.training import encode_examples
from lstm_viz.core.tasks.translation_base import TranslationExample, TranslationTask

Tokens = Sequence[str]
EVALUATION_BATCH = 256
MONTH_TARGET_INDEX = 2  # "2021 - 03 - 03": the month is the third target token


@dataclass(frozen=True)
class Scores:
    count: int
    exact_match: float  # fraction of translations identical to the reference, token for token
    token_accuracy: float  # fraction of reference tokens matched by the translation's token at the same position
    bleu: float  # sacrebleu corpus BLEU, 0-100

    def to_dict(self) -> dict:
        return asdict(self)


def corpus_bleu(hypotheses: Sequence[Tokens], references: Sequence[Tokens]) -> float:
    return float(sacrebleu.corpus_bleu([" ".join(h) for h in hypotheses], [[" ".join(r) for r in references]],
                                       tokenize="none", force=True).score)  # force: tokenised on purpose


def score(hypotheses: Sequence[Tokens], references: Sequence[Tokens]) -> Scores:
    if len(hypotheses) != len(references) or not references:
        raise ValueError("one hypothesis per reference, and at least one")
    exact = sum(tuple(h) == tuple(r) for h, r in zip(hypotheses, references))
    matched = sum(sum(a == b for a, b in zip(h, r)) for h, r in zip(hypotheses, references))
    return Scores(len(references), exact / len(references), matched / sum(len(r) for r in references),
                  corpus_bleu(hypotheses, references))


def translate_examples(model: Seq2Seq, task: TranslationTask, examples: list[TranslationExample]) -> list[tuple[str, ...]]:
    """Greedy translations of `examples`, in batches."""
    target_vocabulary = task.vocabularies[1]
    out: list[tuple[str, ...]] = []
    for start in range(0, len(examples), EVALUATION_BATCH):
        data = encode_examples(task, examples[start:start + EVALUATION_BATCH])
        ids, _ = greedy_batch(model, data["source"], data["lengths"], task.max_target_tokens)
        out.extend(tuple(target_vocabulary.decode(row)) for row in ids.tolist())
    return out


def length_buckets(lengths: Sequence[int], edges: Sequence[int]) -> list[tuple[str, list[int]]]:
    """[(label, indices)] of items whose length falls in [edges[i], edges[i+1]); the last bucket is open."""
    buckets = []
    for i, low in enumerate(edges):
        high = edges[i + 1] if i + 1 < len(edges) else None
        members = [j for j, n in enumerate(lengths) if n >= low and (high is None or n < high)]
        label = f"{low}+" if high is None else (f"{low}" if high == low + 1 else f"{low}-{high - 1}")
        if members:
            buckets.append((label, members))
    return buckets


def by_source_length(examples: list[TranslationExample], hypotheses: Sequence[Tokens], edges: Sequence[int]) -> list[dict]:
    rows = []
    for label, members in length_buckets([len(e.source_tokens) for e in examples], edges):
        scores = score([hypotheses[j] for j in members], [examples[j].target_tokens for j in members])
        rows.append({"source_tokens": label, **scores.to_dict()})
    return rows


def evaluate(model: Seq2Seq, task: TranslationTask) -> dict:
    """The test split's scores, overall and by source length, for the model and for the task's baseline."""
    examples = task.examples("test")
    references = [e.target_tokens for e in examples]
    hypotheses = translate_examples(model, task, examples)
    baseline = [task.baseline_translation(e) for e in examples]
    return {"model": score(hypotheses, references).to_dict(),
            "by_source_length": by_source_length(examples, hypotheses, task.length_edges),
            "baseline": score(baseline, references).to_dict(),
            "baseline_by_source_length": by_source_length(examples, baseline, task.length_edges)}


def attention_peak_rate(model: Seq2Seq, task: TranslationTask, target_index: int = MONTH_TARGET_INDEX) -> float:
    """Fraction of test examples whose attention, at the decoder step that writes target token `target_index` (the
    reference fed in before it), peaks on the example's anchor token (a date's month)."""
    if model.attention is None:
        raise ValueError("a model without attention has no attention to inspect")
    examples = [e for e in task.examples("test") if e.anchor_position >= 0]
    hits = 0
    for start in range(0, len(examples), EVALUATION_BATCH):
        chunk = examples[start:start + EVALUATION_BATCH]
        data = encode_examples(task, chunk)
        with torch.no_grad():
            memory, state, mask = model.encode(data["source"], data["lengths"])
            _, _, weights = model.decode(data["target_in"], state, memory, mask)
        peaks = weights[:, target_index].argmax(-1)
        hits += int((peaks == torch.tensor([e.anchor_position for e in chunk])).sum())
    return hits / len(examples)
