"""Sentence pairs for translation: the shipped Tatoeba file read with its sizes checked first, a split by source
sentence, and word vocabularies with the four tokens an encoder-decoder needs.

The split is by SOURCE sentence: Tatoeba gives several French translations of one English sentence, and a test
sentence whose twin sits in the training set would measure memory, not translation. Every pair sharing an English
sentence goes to the same side.
"""
from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from lstm_viz.data.text import PAD, UNK, tokenize
from lstm_viz.rules.errors import UploadError
from lstm_viz.rules.paths import DATA_DIR

TATOEBA_FILE = DATA_DIR / "tatoeba-eng-fra-5000.tsv"
BOS = "<bos>"
EOS = "<eos>"
PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
SPECIALS = (PAD, UNK, BOS, EOS)
MAX_FILE_BYTES = 4_000_000
MAX_PAIRS = 20_000
MAX_SENTENCE_CHARACTERS = 300


@dataclass(frozen=True)
class SentencePair:
    source: str
    target: str
    attribution: str


def read_pairs(path: Path = TATOEBA_FILE) -> list[SentencePair]:
    """`source<TAB>target<TAB>attribution` lines; sizes are checked before a line is parsed."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise UploadError(f"{path.name} has {size:,} bytes; the limit is {MAX_FILE_BYTES:,}")
    lines = path.read_text(encoding="utf-8").splitlines()
    if len(lines) > MAX_PAIRS:
        raise UploadError(f"{path.name} has {len(lines):,} lines; the limit is {MAX_PAIRS:,} pairs")
    pairs = []
    for number, line in enumerate(lines, start=1):
        fields = line.split("\t")
        if len(fields) != 3 or not fields[0].strip() or not fields[1].strip():
            raise UploadError(f"{path.name} line {number}: expected source, target and attribution separated by tabs")
        if max(len(fields[0]), len(fields[1])) > MAX_SENTENCE_CHARACTERS:
            raise UploadError(f"{path.name} line {number}: a sentence longer than {MAX_SENTENCE_CHARACTERS} characters")
        pairs.append(SentencePair(fields[0].strip(), fields[1].strip(), fields[2].strip()))
    return pairs


def split_by_source(pairs: Sequence[SentencePair], test_fraction: float, seed: int
                    ) -> tuple[list[SentencePair], list[SentencePair]]:
    """(train, test): the distinct source sentences shuffled with `seed`, the first `test_fraction` of them (and all
    their pairs) to the test side."""
    sources = sorted({pair.source for pair in pairs})
    random.Random(seed).shuffle(sources)
    test_sources = set(sources[:round(len(sources) * test_fraction)])
    train = [pair for pair in pairs if pair.source not in test_sources]
    test = [pair for pair in pairs if pair.source in test_sources]
    return train, test


class TokenVocabulary:
    """Word <-> index: 0 <pad>, 1 <unk>, 2 <bos>, 3 <eos>, then the words."""

    def __init__(self, words: Iterable[str]):
        words = [word for word in words if word not in SPECIALS]
        if len(set(words)) != len(words):
            raise ValueError("vocabulary words must be unique")
        self.words: list[str] = [*SPECIALS, *words]
        self.index = {word: i for i, word in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, tokens: Sequence[str]) -> tuple[list[int], list[int]]:
        """(indices, positions of the tokens the vocabulary does not know, which became <unk>)."""
        indices = [self.index.get(token, UNK_ID) for token in tokens]
        return indices, [i for i, index in enumerate(indices) if index == UNK_ID]

    def decode(self, indices: Iterable[int]) -> list[str]:
        """The tokens up to (not including) the first <eos>; <pad> and <bos> are skipped."""
        tokens = []
        for index in indices:
            if index == EOS_ID:
                break
            if index not in (PAD_ID, BOS_ID):
                tokens.append(self.words[index])
        return tokens

    @classmethod
    def from_token_lists(cls, token_lists: Iterable[Sequence[str]], min_count: int = 1) -> "TokenVocabulary":
        """Words seen at least `min_count` times, most frequent first (ties alphabetical)."""
        counts = Counter(token for tokens in token_lists for token in tokens)
        kept = sorted((word for word, count in counts.items() if count >= min_count), key=lambda w: (-counts[w], w))
        return cls(kept)


def sentence_tokens(text: str) -> list[str]:
    """Lower-cased words and punctuation marks (lstm_viz.data.text.tokenize), for either language."""
    return tokenize(text)
