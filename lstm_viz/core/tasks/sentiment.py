"""Sentiment of generated everyday reviews (negative / neutral / positive), word by word, where the deciding words
are followed by filler: a model must carry the verdict across up to `length` filler words.

Each review is one opinion clause ("i love this phone !", "the waiter wasn't very friendly .", "great location but
the room was not clean at all .") followed by a distance d of neutral filler ("we went there on a tuesday ."), d
drawn uniformly from 0..length, with filler before the clause so every sequence has `length + MAX_CLAUSE_WORDS`
words. Varying d means the model must hold its verdict at every distance, so it also answers for a typed sentence
with no filler at all; a network that remembers only k words back gets only the reviews with d < k right. The clause needs
more than a bag of words: negation flips a word ("the food was not bad at all" is positive), and in a contrast
the part after "but" decides ("good food but the service was awful" is negative). Classes are drawn uniformly, so
the best model with no memory of the clause (the last words are filler) guesses one class: error rate 2/3.

The opinion words, negators and intensifiers come from the VADER sentiment lexicon, filtered by part of speech and
everyday frequency (scripts/build_sentiment_words.py writes assets/data/sentiment_words.tsv); they, the sentence
frames' words, the nouns reviewed and the filler are lstm_viz.core.tasks.review_language's, the frames this module's. A neutral review states facts or a mild word ("okay"). Some
nouns and filler words are replaced by <unk>, so a typed word the model has never seen reads as no opinion.
"""
from __future__ import annotations

import random

import numpy as np
import torch
from torch import Tensor

from lstm_viz.data.text import UNK, encode_words, one_hot_tensor
from lstm_viz.core.tasks.base import Split, Task
# The words and grammar of the reviews; FILLER_SENTENCES, WORDS_FILE and the rest are imported from here too.
from lstm_viz.core.tasks.review_language import (  # noqa: F401
    ACTION_VERBS, ADJECTIVES, ADVERBS, COPULA_NEGATORS, DETERMINERS, END_MARKS, FACT_SENTENCES, FILLER_SENTENCES,
    FILLER_WORDS, INTENSIFIERS, MAX_CLAUSE_WORDS, MAX_UNKNOWN_AROUND, NEGATED_AUXILIARIES, NEGATED_COPULAS, NEGATORS,
    NOUNS, PAST_VERBS, PLURAL_NOUNS, SUBJECTS, VERB_INTENSIFIERS, VERBS, VOCABULARY, WORD_POLARITY, WORDS_FILE,
    draw_word, read_sentiment,
)

CLASSES = ("negative", "neutral", "positive")
NEGATIVE, NEUTRAL, POSITIVE = 0, 1, 2
POLARITY = {NEGATIVE: -1, NEUTRAL: 0, POSITIVE: 1}
EMBEDDING_SIZE = 32  # each word's learned vector; the first layer reads these instead of a one-hot row
UNK_NOUN_SHARE = 0.1  # nouns read as <unk>, so an unknown noun means nothing
UNK_FILLER_SHARE = 0.2  # typed reviews hold many words the model does not know


class SentimentTask(Task):
    name = "sentiment"
    label = "Sentiment of reviews (words)"
    input_size = len(VOCABULARY)
    embedding_size = EMBEDDING_SIZE
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
        f"Vocabulary: {len(VOCABULARY)} words (fixed; opinion words from the VADER lexicon), each read as a learned "
        f"{EMBEDDING_SIZE}-number embedding."
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
        """An opinion clause; sometimes wrapped in words the model does not know, which must not change it."""
        clause = self._bare_clause(label, rng)
        if rng.random() < 0.15:
            clause = [UNK] * rng.randint(1, MAX_UNKNOWN_AROUND) + clause
        if rng.random() < 0.25 and clause[-1] in END_MARKS:
            clause = [*clause[:-1], ",", *[UNK] * rng.randint(1, MAX_UNKNOWN_AROUND), clause[-1]]
        return clause

    def _bare_clause(self, label: int, rng: random.Random) -> list[str]:
        end = [rng.choices(END_MARKS, weights=(6, 3, 1))[0]]
        if label == NEUTRAL and rng.random() < 0.3:
            return list(rng.choice(FACT_SENTENCES))  # a statement of fact: no opinion at all
        polarity = POLARITY[label]
        final = self._part(polarity, rng)
        roll = rng.random()
        if roll < 0.4:
            # The part before "but" takes a different polarity, so only reading past "but" gives the answer.
            first = self._part(rng.choice([p for p in (-1, 0, 1) if p != polarity]), rng)
            return [*first, *rng.choice((["but"], [",", "but"])), *final, *end]
        if roll < 0.6:
            # Two parts with the same meaning ("the food was cold and the waiter was rude", "... okay and ... fine").
            return [*self._part(polarity, rng), rng.choice(("and", ",")), *final, *end]
        return [*final, *end]

    def _noun(self, rng: random.Random) -> str:
        return UNK if rng.random() < UNK_NOUN_SHARE else rng.choice(NOUNS)

    def _part(self, polarity: int, rng: random.Random) -> list[str]:
        """One opinion with the given meaning, in one of the frames; negated about 35% of the time when polar."""
        negated = polarity != 0 and rng.random() < 0.35
        word_polarity = -polarity if negated else polarity
        intensifier = [draw_word(INTENSIFIERS, rng)] if rng.random() < 0.3 else []
        frame = rng.random()
        if word_polarity != 0 and frame < 0.25:
            return self._verb_part(word_polarity, negated, rng)
        if word_polarity != 0 and not negated and frame < 0.32:  # "it works perfectly", "everything went badly"
            subject = rng.choice((["it"], ["everything"], ["the", self._noun(rng)]))
            verb = UNK if rng.random() < 0.3 else rng.choice(ACTION_VERBS)  # "the package <unk> safely"
            return [*subject, verb, draw_word(ADVERBS[word_polarity], rng)]
        # A neutral opinion may be a word the model does not know ("the food was average" with "average" unknown).
        adjective = UNK if word_polarity == 0 and rng.random() < 0.2 else draw_word(ADJECTIVES[word_polarity], rng)
        # "not bad at all" (positive), "not good at all" (negative)
        at_all = ["at", "all"] if negated and rng.random() < 0.4 else []
        if frame < 0.55:  # "the room was (not) (very) clean", "the staff were friendly", "this place isn't great"
            if rng.random() < 0.25:
                subject, copula = ["the", rng.choice(PLURAL_NOUNS)], rng.choice(("were", "are"))
            else:
                subject, copula = [rng.choice(DETERMINERS), self._noun(rng)], rng.choice(("was", "is"))
            if negated and rng.random() < 0.5:
                verb = [rng.choice(NEGATED_COPULAS[copula])]
            elif not negated and rng.random() < 0.15:
                verb = [UNK]  # a linking verb the model does not know ("the soup tasted awful")
            else:
                verb = [copula, rng.choice(COPULA_NEGATORS)] if negated else [copula]
            if not negated and not intensifier and rng.random() < 0.25:  # "clean and comfortable"
                # An unknown word beside an opinion word adds nothing ("bitter and <unk>").
                second = UNK if rng.random() < 0.15 else draw_word(ADJECTIVES[word_polarity], rng)
                if second != adjective:
                    return [*subject, *verb, adjective, "and", second]
            return [*subject, *verb, *intensifier, adjective, *at_all]
        if frame < 0.7:  # "it was (not) (really) good", "i am (not) happy with the room"
            roll = rng.random()
            if roll < 0.3:
                return ["it", rng.choice(("was", "is")), *(["not"] if negated else []), *intensifier, adjective, *at_all]
            if roll < 0.6:  # "it was a horrible experience", "this is not a good phone"
                described = [*intensifier, adjective]
                article = "an" if described[0][0] in "aeiou" else "a"
                return [rng.choice(("it", "this")), rng.choice(("was", "is")), *(["not"] if negated else []), article,
                        *described, self._noun(rng)]
            copula = rng.choice(("am", "was"))
            return ["i", copula, *(["not"] if negated else []), *intensifier, adjective, "with", rng.choice(("the", "my", "this")),
                    self._noun(rng)]
        if frame < 0.85 and not negated and rng.random() < 0.3:  # "what a lovely view"
            return ["what", "an" if adjective[0] in "aeiou" else "a", adjective, self._noun(rng)]
        # "(not) (very) good food"
        return [*(["not"] if negated else []), *intensifier, adjective, self._noun(rng)]

    def _verb_part(self, word_polarity: int, negated: bool, rng: random.Random) -> list[str]:
        """"i (really) love this phone", "i didn't like the food", "we loved it"."""
        target = rng.choice((["it"], ["this", self._noun(rng)], ["the", self._noun(rng)]))
        intensifier = [draw_word(VERB_INTENSIFIERS, rng)] if rng.random() < 0.25 else []
        if negated:
            return ["i", *rng.choice(NEGATED_AUXILIARIES), *intensifier, draw_word(VERBS[word_polarity], rng), *target]
        if rng.random() < 0.4:
            subject = rng.choice(SUBJECTS).split()
            return [*subject, *intensifier, draw_word(PAST_VERBS[word_polarity], rng), *target]
        return ["i", *intensifier, draw_word(VERBS[word_polarity], rng), *target]

    def _filler(self, count: int, rng: random.Random) -> list[str]:
        """Whole filler sentences, at least `count` words of them; a few words read as <unk>."""
        words: list[str] = []
        while len(words) < count:
            words.extend(UNK if rng.random() < UNK_FILLER_SHARE and w != "." else w for w in rng.choice(FILLER_WORDS))
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
            if len(clause) > MAX_CLAUSE_WORDS:
                raise AssertionError(f"clause longer than MAX_CLAUSE_WORDS: {' '.join(clause)}")
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
