"""What a translation task gives an encoder-decoder: tokenised examples per split, the two vocabularies, a reader of
typed text that marks unknown words, and the baseline a model must beat.

These are not `Task`s: a SequenceModel cannot train on them (its readout is one vector per step, not a decoder), so
they sit in their own dict, lstm_viz.core.tasks.TRANSLATION_TASKS, which only the translation code reads.
"""
from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Literal

from lstm_viz.data.translation_pairs import TokenVocabulary
from lstm_viz.rules.errors import UploadError

TranslationSplit = Literal["train", "test"]
MAX_TYPED_CHARACTERS = 300


@dataclass(frozen=True)
class TranslationExample:
    source_text: str
    source_tokens: tuple[str, ...]
    target_tokens: tuple[str, ...]
    # Index in source_tokens of the token a test may expect the attention to find (the month of a date); -1: none.
    anchor_position: int = -1


class TranslationTask(ABC):
    name: str
    label: str
    description: str
    baseline_name: str
    baseline_description: str
    # Longest source the page accepts and the decoder's output limit, in tokens.
    max_source_tokens: int
    max_target_tokens: int
    example_inputs: tuple[str, ...]
    # Lower ends of the source-length buckets (tokens) the metrics are broken down by; the last is open.
    length_edges: tuple[int, ...]
    # How a decoded token list reads as text ("" for dates: 2021-03-03; " " for words).
    joiner: str = " "
    # What the tokeniser keeps, for the message about a text it keeps nothing of.
    readable: str = "words (in any alphabet), numbers and the marks . , ! ? ; :"

    @abstractmethod
    def _build_examples(self) -> dict[str, list[TranslationExample]]:
        """{"train": [...], "test": [...]}, deterministic."""

    @abstractmethod
    def tokenize(self, text: str) -> list[str]:
        """The source tokens of a typed text (the same tokeniser the examples went through)."""

    @abstractmethod
    def baseline_translation(self, example: TranslationExample) -> tuple[str, ...]:
        """The baseline's output for one example."""

    @functools.cached_property
    def _examples(self) -> dict[str, list[TranslationExample]]:
        return self._build_examples()

    def examples(self, split: TranslationSplit) -> list[TranslationExample]:
        return self._examples[split]

    @functools.cached_property
    def vocabularies(self) -> tuple[TokenVocabulary, TokenVocabulary]:
        """(source, target) vocabularies of the training split only: a word seen only in the test set is <unk>."""
        train = self.examples("train")
        return (TokenVocabulary.from_token_lists((e.source_tokens for e in train), self.min_word_count),
                TokenVocabulary.from_token_lists((e.target_tokens for e in train), self.min_word_count))

    # Words seen fewer times in training become <unk>, so the model meets <unk> while training.
    min_word_count: int = 1

    def encode_typed(self, text: str) -> tuple[list[int], list[str], list[int]]:
        """(source indices, tokens, positions of unknown tokens) of what a user typed; UploadError says what is wrong."""
        if len(text) > MAX_TYPED_CHARACTERS:
            raise UploadError(f"the text has {len(text):,} characters; the limit is {MAX_TYPED_CHARACTERS}")
        tokens = self.tokenize(text)
        if not tokens and not text.strip():
            raise UploadError("type a sentence first (letters or numbers; other symbols are ignored)")
        if not tokens:
            raise UploadError(f"this task reads only {self.readable}, and the text has none of them. "
                              "Try one of the example inputs.")
        if len(tokens) > self.max_source_tokens:
            raise UploadError(f"the text has {len(tokens)} words; this task's models read at most {self.max_source_tokens}")
        indices, unknown = self.vocabularies[0].encode(tokens)
        if len(unknown) == len(tokens):
            shown = ", ".join(token if len(token) <= 20 else token[:19] + "…" for token in tokens[:10])
            raise UploadError(f"none of these words is in the training vocabulary: {shown}"
                              f"{', …' if len(tokens) > 10 else ''}. Try one of the example inputs.")
        return indices, tokens, unknown

    def join(self, tokens) -> str:
        return self.joiner.join(tokens)
