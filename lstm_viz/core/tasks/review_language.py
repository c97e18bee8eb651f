"""The language of the generated everyday reviews (lstm_viz.core.tasks.sentiment): the opinion words, negators and
intensifiers from the VADER lexicon (assets/data/sentiment_words.tsv, written by scripts/build_sentiment_words.py),
the nouns, sentence frames and neutral filler, the vocabulary they make, and a review read by the grammar's rules.
Checked at import: no filler word carries an opinion, and every word is one token.
"""
from __future__ import annotations

import csv
import random

import numpy as np

from lstm_viz.data.text import Vocabulary, tokenize
from lstm_viz.rules import paths

WORDS_FILE = paths.DATA_DIR / "sentiment_words.tsv"


def _lexicon() -> tuple[dict[str, dict[str, int]], dict[str, float]]:
    """(role -> {word: polarity}, word -> Zipf frequency) from the derived word list."""
    roles: dict[str, dict[str, int]] = {}
    frequency: dict[str, float] = {}
    with WORDS_FILE.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            roles.setdefault(row["role"], {})[row["word"]] = int(row["polarity"])
            frequency[row["word"]] = float(row["zipf"])
    return roles, frequency


_ROLES, _ZIPF = _lexicon()


def _weights(words: tuple[str, ...]) -> list[float]:
    """Draw words by the square root of their everyday frequency: "good" often, "superb" now and then, so reviews
    read like reviews and every word is still seen often enough to be learned."""
    return [10 ** (_ZIPF[w] / 2) for w in words]


def draw_word(words: tuple[str, ...], rng: random.Random) -> str:
    """One of `words` (a tuple of this module), drawn by its weight in _WEIGHTS."""
    return rng.choices(words, weights=_WEIGHTS[words])[0]


ADJECTIVES: dict[int, tuple[str, ...]] = {
    sign: tuple(sorted(w for w, p in _ROLES["adjective"].items() if p == sign)) for sign in (-1, 0, 1)
}
ADVERBS: dict[int, tuple[str, ...]] = {
    sign: tuple(sorted(w for w, p in _ROLES["adverb"].items() if p == sign)) for sign in (-1, 1)
}
VERBS: dict[int, tuple[str, ...]] = {sign: tuple(sorted(w for w, p in _ROLES["verb"].items() if p == sign)) for sign in (-1, 1)}
PAST_VERBS: dict[int, tuple[str, ...]] = {
    sign: tuple(sorted(w for w, p in _ROLES["verb_past"].items() if p == sign)) for sign in (-1, 1)
}
_LEXICON_NEGATORS = set(_ROLES["negator"])
# Where each of VADER's negators fits a frame: after "was"/"is" ("was not"), in place of the copula ("wasn't"), or
# as the auxiliary before a verb ("didn't like"); both spellings of a contraction, as people type them.
COPULA_NEGATORS = ("not", "never")
NEGATED_COPULAS = {
    "was": ("wasn't", "wasnt"), "is": ("isn't", "isnt"), "were": ("weren't", "werent"), "are": ("aren't", "arent"),
}
NEGATED_AUXILIARIES = (("do", "not"), ("don't",), ("dont",), ("did", "not"), ("didn't",), ("didnt",),
                        ("would", "not"), ("wouldn't",), ("wouldnt",), ("will", "never"), ("never",), ("won't",))
NEGATORS = frozenset(
    word for word in {*COPULA_NEGATORS, *(w for pair in NEGATED_COPULAS.values() for w in pair),
                      *(w for aux in NEGATED_AUXILIARIES for w in aux)} if word in _LEXICON_NEGATORS
)
INTENSIFIERS = tuple(sorted(_ROLES["intensifier"]))
# Before a verb only the adverbs read naturally ("i really love", "i absolutely hate").
VERB_INTENSIFIERS = tuple(w for w in INTENSIFIERS if w.endswith("ly"))
_WEIGHTS = {words: _weights(words) for words in (*ADJECTIVES.values(), *ADVERBS.values(), *VERBS.values(), *PAST_VERBS.values(),
                                                 INTENSIFIERS, VERB_INTENSIFIERS)}

# What is reviewed: the frames' nouns, singular and plural ("the staff were").
NOUNS = ("food", "service", "room", "price", "music", "view", "coffee", "waiter", "menu", "bed", "location", "wine",
         "dessert", "breakfast", "hotel", "restaurant", "product", "phone", "movie", "book", "app", "shop", "place",
         "delivery", "quality", "battery", "screen", "show", "film", "game", "camera", "laptop", "seller", "meal",
         "burger", "pasta", "salad", "soup", "cake", "bread", "beer", "driver", "flight", "trip", "order", "package",
         "jacket", "bag", "chair", "car", "bike", "course", "teacher", "doctor", "gym", "pool", "beach", "tour",
         "guide", "concert", "album", "song", "team", "manager", "website", "store", "bar", "cafe", "kitchen",
         "headphones", "keyboard", "printer", "tv", "sofa", "mattress", "lamp", "experience", "staff")
PLURAL_NOUNS = ("staff", "prices", "rooms", "waiters", "shoes", "seats", "portions", "fries", "drinks", "beds",
                "towels", "people", "owners", "instructions", "photos", "headphones", "noodles", "cookies")
SUBJECTS = ("i", "we", "my wife", "my husband", "the kids", "my friends", "everyone", "my mom", "my dad")
DETERMINERS = ("the", "this", "my", "our")
END_MARKS = (".", "!", "...")
# Neutral filler: everyday sentences with no opinion, negation or contrast (checked at import).
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
    "i bought it last month .",
    "it came in a small box .",
    "i ordered it online on monday .",
    "the shop is on the main street .",
    "we stayed for three nights .",
    "my brother told me about it .",
    "i use it every morning .",
    "it took about an hour .",
    "we had the fish and the soup .",
    "the order arrived on thursday .",
    "i paid by card .",
    "we booked it for the weekend .",
    "it is my second one .",
    "i read it on the train .",
    "we watched it on sunday night .",
    "the hotel has two floors and a garden .",
    "they also sell tea and cake .",
    "it comes in black and white .",
    "i got it as a birthday present .",
    "my friend ordered the chicken .",
    "the trip was in july .",
    "we went with the kids .",
    "i have had it for a year .",
    "the room was on the third floor .",
    "the film is about a family in paris .",
    "it runs on two batteries .",
    "we parked across the road .",
    "the waiter brought the bill .",
    "we will go back in the spring .",
    "i would take the bus next time .",
    "we did the walk before lunch .",
    "i do the shopping on fridays .",
    "they will deliver it on monday .",
)
STRUCTURE_WORDS = ("the", "a", "an", "was", "is", "were", "are", "it", "this", "with", "but", "and", ",", "at", "all",
                   "what", "am", "i", "do", "did", "would", "will", "everything")
ACTION_VERBS = ("works", "worked", "went", "ran")  # "it works perfectly", "everything went badly"
# The longest part: "the food was not really bad at all" (det noun copula negator intensifier adjective "at all").
MAX_PART_WORDS = 8
# Words the model does not know, around an opinion ("<unk> the best burger , <unk> <unk> ."): up to this many
# before the clause and, after a comma, after it.
MAX_UNKNOWN_AROUND = 3
# Two parts joined by ", but" or "and", the end mark, and the unknown words around them.
MAX_CLAUSE_WORDS = 2 * MAX_PART_WORDS + 3 + 2 * MAX_UNKNOWN_AROUND + 1

WORD_POLARITY = {**{w: p for w, p in _ROLES["adjective"].items()}, **{w: p for w, p in _ROLES["verb"].items()},
                 **{w: p for w, p in _ROLES["adverb"].items()},
                 **{w: p for w, p in _ROLES["verb_past"].items()}}
FILLER_WORDS = [sentence.split() for sentence in FILLER_SENTENCES]
FACT_SENTENCES = [words for words in FILLER_WORDS if len(words) <= MAX_PART_WORDS + 1]


def _vocabulary() -> Vocabulary:
    words = {*NOUNS, *PLURAL_NOUNS, *WORD_POLARITY, *NEGATORS, *INTENSIFIERS, *STRUCTURE_WORDS, *END_MARKS, *DETERMINERS,
             *ACTION_VERBS}
    for phrase in (*SUBJECTS, *FILLER_SENTENCES):
        words.update(phrase.split())
    for auxiliary in NEGATED_AUXILIARIES:
        words.update(auxiliary)
    loaded = {w for role in ("negator", "intensifier") for w in _ROLES[role]} | set(WORD_POLARITY)
    clash = {w for sentence in FILLER_WORDS for w in sentence} & (loaded | {"but"})
    if clash:
        raise ValueError(f"filler sentences use opinion words: {sorted(clash)}")
    if any(len(tokenize(w)) != 1 for w in words):
        raise ValueError("every vocabulary word must be one token")
    return Vocabulary(sorted(words))


VOCABULARY = _vocabulary()


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
            # Only the part after "but" counts; with no opinion word in it the review is neutral.
            current, but_seen, pending = 0, True, False
        elif word in WORD_POLARITY:
            current = -WORD_POLARITY[word] if pending else WORD_POLARITY[word]
            pending = False
            opinion[t] = 1.0
        elif word in END_MARKS or word in (",", "and"):
            pending = False
        verdict[t], negation[t], after_but[t] = current, float(pending), float(but_seen)
    return {"sentiment so far": verdict, "negation waiting": negation, "after 'but'": after_but, "opinion word": opinion}
