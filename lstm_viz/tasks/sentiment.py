"""Sentiment of generated reviews (negative / neutral / positive), word by word, where the deciding words are
followed by filler: a model must carry the verdict across up to `length` filler words.

Each review is one opinion clause followed by a distance d of neutral filler ("we went there on a tuesday ."), d
drawn uniformly from 0..length, with filler before the clause so every sequence has `length + MAX_CLAUSE_WORDS`
words. Varying d means the model must hold its verdict at every distance, so it also answers for a typed sentence
with no filler at all; a network that remembers only k words back gets only the reviews with d < k right. The clause needs
more than a bag of words: negation flips a word ("the food was not bad at all" is positive), and in a contrast
the part after "but" decides ("good food but the service was awful" is negative). Classes are drawn uniformly, so
the best model with no memory of the clause (the last words are filler) guesses one class: error rate 2/3.
"""
from __future__ import annotations

import random

import numpy as np
import torch
from torch import Tensor

from ..text import Vocabulary, encode_words, one_hot_tensor
from .base import Split, Task

CLASSES = ("negative", "neutral", "positive")
NEGATIVE, NEUTRAL, POSITIVE = 0, 1, 2
POLARITY = {NEGATIVE: -1, NEUTRAL: 0, POSITIVE: 1}

ASPECTS = ("food", "service", "staff", "room", "price", "music", "view", "coffee", "waiter", "menu", "bed",
           "location", "wine", "dessert", "breakfast")
POSITIVE_WORDS = ("good", "great", "excellent", "lovely", "delicious", "friendly", "amazing", "superb", "wonderful",
                  "perfect")
NEGATIVE_WORDS = ("bad", "awful", "terrible", "poor", "rude", "bland", "dirty", "horrible", "disappointing", "slow")
NEUTRAL_WORDS = ("okay", "average", "ordinary", "adequate", "standard", "unremarkable")
INTENSIFIERS = ("very", "really", "quite", "truly", "so")
NEGATORS = ("not", "never")
FILLER_SENTENCES = (
    "we went there on a tuesday .",
    "my sister booked a table for four .",
    "it is near the station .",
    "we arrived around seven and parked outside .",
    "the menu changes every week .",
    "they open at noon on weekends .",
    "i had been there once before with friends .",
    "the building used to be a bank .",
    "then we walked back to the hotel .",
    "after that we took a taxi home .",
    "it was a friday evening in the city .",
    "we sat by the window on the corner .",
)
STRUCTURE_WORDS = ("the", "was", "but", "at", "all", ".")
# The longest clause, "the food was not very bad at all but the room was never really bad at all .", has 18 words.
MAX_CLAUSE_WORDS = 18

WORD_POLARITY = {**{w: 1 for w in POSITIVE_WORDS}, **{w: -1 for w in NEGATIVE_WORDS}, **{w: 0 for w in NEUTRAL_WORDS}}


def _vocabulary() -> Vocabulary:
    words = {*ASPECTS, *POSITIVE_WORDS, *NEGATIVE_WORDS, *NEUTRAL_WORDS, *INTENSIFIERS, *NEGATORS, *STRUCTURE_WORDS}
    for sentence in FILLER_SENTENCES:
        words.update(sentence.split())
    return Vocabulary(sorted(words))


VOCABULARY = _vocabulary()
_FILLER_WORDS = [sentence.split() for sentence in FILLER_SENTENCES]


def read_sentiment(words: list[str]) -> dict[str, np.ndarray]:
    """Per-word series from reading the words left to right with the grammar's rules: the class the review would
    have if it ended here (-1 / 0 / +1), whether a negation is waiting for its opinion word, whether a "but" was
    read, and whether this word is an opinion word. The generator's labels must agree with the last value."""
    steps = len(words)
    verdict, negation, after_but, opinion = (np.zeros(steps) for _ in range(4))
    current, pending, but_seen = 0, False, False
    for t, word in enumerate(words):
        if word in NEGATORS:
            pending = True
        elif word == "but":
            but_seen, pending = True, False
        elif word in WORD_POLARITY:
            current = -WORD_POLARITY[word] if pending else WORD_POLARITY[word]
            pending = False
            opinion[t] = 1.0
        elif word == ".":
            pending = False
        verdict[t], negation[t], after_but[t] = current, float(pending), float(but_seen)
    return {"sentiment so far": verdict, "negation waiting": negation, "after 'but'": after_but, "opinion word": opinion}


class SentimentTask(Task):
    name = "sentiment"
    label = "Sentiment of reviews (words)"
    input_size = len(VOCABULARY)
    output_size = len(CLASSES)
    readout = "last"
    metric_name = "error rate"
    metric_unit = "fraction of reviews misclassified"
    default_length = 30
    min_length = 0
    max_length = 150
    description = (
        "Read a generated review word by word and say if it is negative, neutral or positive. The opinion (with "
        "negation and 'but') is followed by up to T words of neutral filler the network must read past."
    )
    baseline_description = "always guess one class (no memory of the opinion): error 2/3"
    length_caption = (
        f"T = the most filler words after the opinion (each review: 0 to T, drawn evenly), 0–150; each review has "
        f"T + {MAX_CLAUSE_WORDS} words. "
        f"Vocabulary: {len(VOCABULARY)} words (fixed), one-hot."
    )
    classes = CLASSES
    accepts_text = True
    vocabulary = VOCABULARY
    # Typed sentences: longer than any training review is outside what the model has seen.
    max_typed_words = 150 + MAX_CLAUSE_WORDS

    def sequence_length(self, length: int) -> int:
        return length + MAX_CLAUSE_WORDS

    # ----- the generated language -----
    def _clause(self, label: int, rng: random.Random) -> list[str]:
        if label == NEUTRAL:
            final = self._part(0, rng, allow_negation=False)
            kind = "contrast" if rng.random() < 0.4 else "simple"
        else:
            final = self._part(POLARITY[label], rng, allow_negation=True)
            kind = "contrast" if rng.random() < 0.45 else "simple"
        if kind == "contrast":
            # The part before "but" takes a different polarity, so only reading past "but" gives the answer.
            first_polarity = rng.choice([p for p in (-1, 0, 1) if p != POLARITY[label]])
            first = self._part(first_polarity, rng, allow_negation=first_polarity != 0)
            return [*first, "but", *final, "."]
        return [*final, "."]

    def _part(self, polarity: int, rng: random.Random, allow_negation: bool) -> list[str]:
        """One opinion about one aspect with the given meaning; negated about 40% of the time when allowed."""
        negated = allow_negation and rng.random() < 0.4
        word_polarity = -polarity if negated else polarity
        pool = {1: POSITIVE_WORDS, -1: NEGATIVE_WORDS, 0: NEUTRAL_WORDS}[word_polarity]
        adjective = rng.choice(pool)
        aspect = rng.choice(ASPECTS)
        intensifier = [rng.choice(INTENSIFIERS)] if rng.random() < 0.3 else []
        negation = [rng.choice(NEGATORS)] if negated else []
        if rng.random() < 0.5:  # "the food was not really bad at all"
            at_all = ["at", "all"] if negated and word_polarity < 0 and rng.random() < 0.6 else []
            return ["the", aspect, "was", *negation, *intensifier, adjective, *at_all]
        return [*negation, *intensifier, adjective, aspect]  # "not very good food"

    def _filler(self, count: int, rng: random.Random) -> list[str]:
        """Whole filler sentences, at least `count` words of them."""
        words: list[str] = []
        while len(words) < count:
            words.extend(rng.choice(_FILLER_WORDS))
        return words

    def generate_reviews(self, count: int, length: int, generator: torch.Generator) -> tuple[list[list[str]], np.ndarray, list[tuple[int, int]]]:
        """(reviews as word lists of length + MAX_CLAUSE_WORDS, labels, (start, end) of each review's clause)."""
        # Python's generator (seeded from the torch one: same torch state, same reviews) is several times faster
        # than NumPy's for these many small draws.
        rng = random.Random(int(torch.randint(0, 2**62, (1,), generator=generator)))
        labels = np.array([rng.randrange(len(CLASSES)) for _ in range(count)], dtype=np.int64)
        reviews, spans = [], []
        for label in labels:
            clause = self._clause(int(label), rng)
            distance = rng.randint(0, length)
            lead = MAX_CLAUSE_WORDS - len(clause) + length - distance
            # The filler before the clause ends with a full stop; the filler after it is cut at exactly `distance` words.
            before = self._filler(lead, rng)[-lead:] if lead else []
            reviews.append([*before, *clause, *self._filler(distance, rng)[:distance]])
            spans.append((lead, lead + len(clause)))
        return reviews, labels, spans

    def generate(self, count: int, length: int, generator: torch.Generator, split: Split = "train") -> tuple[Tensor, Tensor]:
        reviews, labels, _ = self.generate_reviews(count, length, generator)
        index = VOCABULARY.index
        indices = np.array([[index[word] for word in review] for review in reviews], dtype=np.int64).reshape(count, -1)
        return one_hot_tensor(indices, len(VOCABULARY)), torch.as_tensor(labels, dtype=torch.long)

    # ----- loss, metric, reference points -----
    def per_example_loss(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return torch.nn.functional.cross_entropy(outputs, targets, reduction="none")

    def metric(self, outputs: Tensor, targets: Tensor) -> float:
        return float((outputs.argmax(dim=-1) != targets).float().mean())

    def baseline(self, length: int) -> float:
        # Uniform classes: the best constant guess is right a third of the time.
        return 1.0 - 1.0 / len(CLASSES)

    def solved_threshold(self, length: int) -> float:
        return 0.02

    # ----- what the pages show -----
    def words(self, inputs: np.ndarray) -> list[str]:
        return [VOCABULARY.words[int(i)] for i in np.asarray(inputs).argmax(axis=-1)]

    def input_tokens(self, inputs: np.ndarray) -> list[str]:
        return self.words(inputs)

    def input_channels(self, inputs: np.ndarray) -> dict[str, np.ndarray]:
        series = read_sentiment(self.words(inputs))
        return {"sentiment so far": series["sentiment so far"], "opinion word": series["opinion word"]}

    def features(self, inputs: np.ndarray) -> dict[str, np.ndarray]:
        return read_sentiment(self.words(inputs))

    def describe_example(self, inputs: np.ndarray, target: np.ndarray) -> str:
        words = self.words(inputs)
        opinion = np.flatnonzero(read_sentiment(words)["opinion word"])
        label = CLASSES[int(np.asarray(target).reshape(-1)[0])]
        if not len(opinion):
            return f"Review with no opinion word → {label}."
        start = max(0, int(opinion[0]) - 4)
        end = int(opinion[-1]) + 1
        after = len(words) - end
        return f"“… {' '.join(words[start:end + 3])} …” → {label}; the last opinion word is {after} words before the end."

    def encode_text(self, text: str) -> tuple[np.ndarray, list[str], list[int]]:
        return encode_words(text, VOCABULARY, self.max_typed_words)


SENTIMENT = SentimentTask()
