"""Word tokenisation and one-hot encoding shared by the word-level tasks (generated sentiment, uploaded labelled text).

A vocabulary is a plain list of words whose first two entries are the padding and unknown tokens. Typed or uploaded
text is lower-cased and split into words and punctuation; a word outside the vocabulary becomes <unk>, and its
position is reported so a page can flag it instead of hiding it.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Iterable, Sequence

import numpy as np
import torch
from torch import Tensor

from lstm_viz.rules.errors import UploadError

PAD = "<pad>"
UNK = "<unk>"
PAD_INDEX = 0
UNK_INDEX = 1
SPECIAL_TOKENS = (PAD, UNK)

# Words are runs of letters (with inner apostrophes, "don't"), digits count as words, punctuation marks stand alone
# and an ellipsis ("...") is one mark.
_TOKEN_PATTERN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*|\d+|\.\.\.|[.,!?;:]")
# Typographic apostrophes and the one-character ellipsis, as phones and word processors type them.
_NORMALISED = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2026": "..."})


def tokenize(text: str) -> list[str]:
    """Lower-cased words and punctuation marks ("Love this!!" -> love, this, !, !); other symbols are dropped."""
    return _TOKEN_PATTERN.findall(text.translate(_NORMALISED).lower())


class Vocabulary:
    """Word <-> index; index 0 is <pad>, 1 is <unk>."""

    def __init__(self, words: Iterable[str]):
        words = [w for w in words if w not in SPECIAL_TOKENS]
        if len(set(words)) != len(words):
            raise ValueError("vocabulary words must be unique")
        self.words: list[str] = [PAD, UNK, *words]
        self.index: dict[str, int] = {word: i for i, word in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def encode(self, words: Sequence[str]) -> tuple[list[int], list[int]]:
        """(indices, positions of unknown words)."""
        indices = [self.index.get(word, UNK_INDEX) for word in words]
        unknown = [i for i, index in enumerate(indices) if index == UNK_INDEX]
        return indices, unknown

    @classmethod
    def from_texts(cls, texts: Iterable[str], max_size: int) -> tuple["Vocabulary", int]:
        """The `max_size - 2` most frequent words (ties broken alphabetically) and how many distinct words were left out."""
        counts = Counter(word for text in texts for word in tokenize(text))
        ranked = sorted(counts, key=lambda word: (-counts[word], word))
        kept = ranked[: max_size - len(SPECIAL_TOKENS)]
        return cls(kept), len(ranked) - len(kept)


def one_hot(indices: np.ndarray | Sequence[int], size: int) -> np.ndarray:
    """(…, size) float32 one-hot rows for an integer array."""
    indices = np.asarray(indices, dtype=np.int64)
    out = np.zeros((*indices.shape, size), dtype=np.float32)
    np.put_along_axis(out, indices[..., None], 1.0, axis=-1)
    return out


def one_hot_tensor(indices: np.ndarray, size: int) -> Tensor:
    """(…, size) float32 one-hot tensor; scatter into zeros is ~20x faster than torch's one_hot(...).float()."""
    index = torch.as_tensor(np.asarray(indices, dtype=np.int64))
    return torch.zeros(*index.shape, size).scatter_(-1, index.unsqueeze(-1), 1.0)


def left_pad(indices: Sequence[int], steps: int) -> list[int]:
    """The first `steps` indices, padded on the left with <pad> so the text always ends at the last step
    (a "last" readout then reads the state right after the final word)."""
    kept = list(indices[:steps])
    return [PAD_INDEX] * (steps - len(kept)) + kept


def encode_words(text: str, vocabulary: Vocabulary, max_words: int) -> tuple[np.ndarray, list[str], list[int]]:
    """(one-hot inputs (words, vocab), the words as typed (lower-cased), positions of unknown words) for typed text."""
    words = tokenize(text)
    if not words:
        raise UploadError("type a sentence with at least one word")
    if len(words) > max_words:
        raise UploadError(f"the text has {len(words)} words; the limit is {max_words}. Shorten it")
    indices, unknown = vocabulary.encode(words)
    return one_hot(indices, len(vocabulary)), words, unknown


def rng_from(generator: torch.Generator) -> np.random.Generator:
    """A NumPy generator seeded from a torch generator: same torch state, same draws (keeps tasks reproducible)."""
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    return np.random.default_rng(seed)
