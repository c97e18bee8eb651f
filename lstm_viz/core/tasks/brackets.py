"""A character language of nested brackets, quoted strings and newlines, modelled one character at a time.

The language is a Markov chain over (open brackets on the stack, inside a quote or not, characters left): outside
quotes it opens (), [], {} up to MAX_DEPTH deep, closes the innermost one, writes letters, spaces, newlines or opens a
quote; inside quotes brackets are plain characters and do not nest. Every sequence is balanced: near the end only the
characters that still allow closing everything in time are drawn. Predicting a closing bracket needs the stack
(which bracket is open) and predicting the end of a quote needs to know one is open: memory an LSTM unit can hold as
a nesting-depth counter (Karpathy, Johnson & Fei-Fei 2015 found such units in real code).

Both reference points are computed exactly from the chain by dynamic programming over its states, not sampled: the
baseline is the entropy of the pooled character frequencies (the best model that ignores the input), and the floor
is the chain's own conditional entropy per character (the best any model can do).
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

from lstm_viz.rules.errors import UploadError
from lstm_viz.data.text import one_hot, one_hot_tensor, rng_from
from lstm_viz.core.tasks.base import Split, Task

UNK = "¤"
LETTERS = "abcdefghijklmnopqrstuvwxyz"
OPENERS = "([{"
CLOSERS = ")]}"
QUOTE = '"'
ALPHABET = UNK + LETTERS + " \n" + OPENERS + CLOSERS + QUOTE
CHAR_INDEX = {c: i for i, c in enumerate(ALPHABET)}
MAX_DEPTH = 5
# Weights of each kind of character before renormalising over what is allowed; split evenly within a kind.
OUTSIDE_WEIGHTS = {"letter": 0.40, "space": 0.12, "newline": 0.04, "open": 0.20, "close": 0.18, "quote": 0.06}
INSIDE_WEIGHTS = {"letter": 0.55, "space": 0.15, "bracket": 0.12, "endquote": 0.18}
# Remaining-character counts above this never constrain a state (at most MAX_DEPTH closers plus a closing quote).
_REMAINING_CAP = MAX_DEPTH + 3


def _stacks() -> list[tuple[int, ...]]:
    stacks: list[tuple[int, ...]] = [()]
    frontier: list[tuple[int, ...]] = [()]
    for _ in range(MAX_DEPTH):
        frontier = [(*s, b) for s in frontier for b in range(len(OPENERS))]
        stacks.extend(frontier)
    return stacks


STACKS = _stacks()
STACK_INDEX = {s: i for i, s in enumerate(STACKS)}
STATE_COUNT = 2 * len(STACKS)  # state = 2 * stack index + inside-quote flag


def _state(stack: tuple[int, ...], quoted: bool) -> int:
    return 2 * STACK_INDEX[stack] + int(quoted)


def next_character_choices(stack: tuple[int, ...], quoted: bool, remaining: int) -> list[tuple[str, float]]:
    """(character, probability) of the next character, given the state and how many characters are still to come
    (this one included). A choice is allowed only if everything open can still be closed in time."""
    depth = len(stack)
    after = remaining - 1  # characters left after this one
    weighted: list[tuple[str, float]] = []

    def add(chars: str, weight: float) -> None:
        weighted.extend((c, weight / len(chars)) for c in chars)

    if quoted:
        if after >= depth + 1:  # still room to close the quote and the brackets
            add(LETTERS, INSIDE_WEIGHTS["letter"])
            add(" ", INSIDE_WEIGHTS["space"])
            add(OPENERS + CLOSERS, INSIDE_WEIGHTS["bracket"])
        add(QUOTE, INSIDE_WEIGHTS["endquote"])
    else:
        if after >= depth:
            add(LETTERS, OUTSIDE_WEIGHTS["letter"])
            add(" ", OUTSIDE_WEIGHTS["space"])
            add("\n", OUTSIDE_WEIGHTS["newline"])
        if depth < MAX_DEPTH and after >= depth + 1:
            add(OPENERS, OUTSIDE_WEIGHTS["open"])
        if after >= depth + 2:
            add(QUOTE, OUTSIDE_WEIGHTS["quote"])
        if depth:
            add(CLOSERS[stack[-1]], OUTSIDE_WEIGHTS["close"])
    total = sum(w for _, w in weighted)
    return [(c, w / total) for c, w in weighted]


def _next(stack: tuple[int, ...], quoted: bool, char: str) -> tuple[tuple[int, ...], bool]:
    if char == QUOTE:
        return stack, not quoted
    if quoted:
        return stack, quoted
    if char in OPENERS:
        return (*stack, OPENERS.index(char)), quoted
    if char in CLOSERS:
        return stack[:-1], quoted
    return stack, quoted


@lru_cache(maxsize=1)
def _tables() -> tuple[np.ndarray, np.ndarray]:
    """probabilities (remaining 1.._REMAINING_CAP, state, char) and next state (state, char), for vectorised sampling."""
    probs = np.zeros((_REMAINING_CAP + 1, STATE_COUNT, len(ALPHABET)))
    next_state = np.zeros((STATE_COUNT, len(ALPHABET)), dtype=np.int64)
    for stack in STACKS:
        for quoted in (False, True):
            state = _state(stack, quoted)
            for char in ALPHABET[1:]:
                following = _next(stack, quoted, char)
                next_state[state, CHAR_INDEX[char]] = _state(*following) if len(following[0]) <= MAX_DEPTH else state
            for remaining in range(1, _REMAINING_CAP + 1):
                if remaining < len(stack) + int(quoted):
                    continue  # unreachable: this state cannot be closed in time
                for char, p in next_character_choices(stack, quoted, remaining):
                    probs[remaining, state, CHAR_INDEX[char]] = p
    return probs, next_state


def generate_strings(count: int, characters: int, rng: np.random.Generator) -> np.ndarray:
    """(count, characters) character indices of balanced strings, all sequences advanced together."""
    probs, next_state = _tables()
    cumulative = np.cumsum(probs, axis=-1)
    out = np.zeros((count, characters), dtype=np.int64)
    state = np.full(count, _state((), False))
    for t in range(characters):
        remaining = min(characters - t, _REMAINING_CAP)
        draws = rng.random(count)[:, None]
        chars = (cumulative[remaining, state] <= draws).sum(axis=1)
        chars = np.minimum(chars, len(ALPHABET) - 1)
        out[:, t] = chars
        state = next_state[state, chars]
    return out


@lru_cache(maxsize=64)
def exact_statistics(characters: int) -> tuple[np.ndarray, float]:
    """(pooled frequency of each character over positions 1..characters-1, mean conditional entropy in nats per
    character over those positions), exactly, by propagating the distribution over chain states."""
    probs, next_state = _tables()
    distribution = np.zeros(STATE_COUNT)
    distribution[_state((), False)] = 1.0
    pooled = np.zeros(len(ALPHABET))
    conditional = 0.0
    for t in range(characters):
        p = probs[min(characters - t, _REMAINING_CAP)]  # (state, char)
        joint = distribution[:, None] * p
        if t >= 1:  # the targets are characters 1..n-1 (each predicted from the ones before it)
            pooled += joint.sum(axis=0)
            with np.errstate(divide="ignore", invalid="ignore"):
                conditional -= float(np.nansum(joint * np.where(p > 0, np.log(p), 0.0)))
        distribution = np.zeros(STATE_COUNT)
        np.add.at(distribution, next_state.ravel(), joint.ravel())
    targets = characters - 1
    return pooled / targets, conditional / targets


def parse(chars: str) -> dict[str, np.ndarray]:
    """Per-character state after reading each character: nesting depth (brackets outside quotes), inside quotes.
    Tolerant of any text: an unmatched closer leaves the depth at 0."""
    depth, quoted = 0, False
    depths, quotes = np.zeros(len(chars)), np.zeros(len(chars))
    for t, char in enumerate(chars):
        if char == QUOTE:
            quoted = not quoted
        elif not quoted and char in OPENERS:
            depth += 1
        elif not quoted and char in CLOSERS:
            depth = max(0, depth - 1)
        depths[t], quotes[t] = depth, float(quoted)
    return {"nesting depth": depths, "inside quotes": quotes}


def show(char: str) -> str:
    return {"\n": "↵", " ": "␣"}.get(char, char)


class BracketsTask(Task):
    name = "brackets"
    label = "Brackets and quotes (characters)"
    input_size = len(ALPHABET)
    output_size = len(ALPHABET)
    readout = "every"
    metric_name = "cross-entropy"
    metric_unit = "nats per character"
    default_length = 100
    min_length = 10
    max_length = 400
    description = (
        "Predict the next character of text with nested (), [], {} brackets, quoted strings and newlines. "
        "Closing the right bracket needs memory of what is open."
    )
    baseline_description = "predict the language's character frequencies (no memory), computed exactly"
    length_caption = (
        f"T = characters per sequence, 10–400. Alphabet: {len(ALPHABET)} characters (a–z, space, newline, ()[]{{}}, \", "
        f"and ¤ for anything else); brackets nest up to {MAX_DEPTH} deep."
    )
    accepts_text = True
    alphabet = ALPHABET
    max_typed_characters = 1000

    def generate(self, count: int, length: int, generator: torch.Generator, split: Split = "train") -> tuple[Tensor, Tensor]:
        # length + 1 balanced characters: the inputs are the first `length`, the targets the last `length`.
        strings = generate_strings(count, length + 1, rng_from(generator))
        return one_hot_tensor(strings[:, :-1], len(ALPHABET)), torch.as_tensor(strings[:, 1:])

    def per_example_loss(self, outputs: Tensor, targets: Tensor) -> Tensor:
        per_step = torch.nn.functional.cross_entropy(outputs.transpose(1, 2), targets, reduction="none")
        return per_step.mean(dim=-1)

    def baseline(self, length: int) -> float:
        frequencies, _ = exact_statistics(length + 1)
        nonzero = frequencies[frequencies > 0]
        return float(-(nonzero * np.log(nonzero)).sum())

    def entropy_floor(self, length: int) -> float:
        """The chain's conditional entropy: no model can score below it on average."""
        return exact_statistics(length + 1)[1]

    def metric_floor(self, length: int) -> float:
        return self.entropy_floor(length)

    def solved_threshold(self, length: int) -> float:
        # Within a tenth of the way from the floor to the baseline.
        floor = self.entropy_floor(length)
        return floor + 0.1 * (self.baseline(length) - floor)

    # ----- what the pages show -----
    def text(self, inputs: np.ndarray) -> str:
        return "".join(ALPHABET[int(i)] for i in np.asarray(inputs).argmax(axis=-1))

    def input_tokens(self, inputs: np.ndarray) -> list[str]:
        return [show(c) for c in self.text(inputs)]

    def features(self, inputs: np.ndarray) -> dict[str, np.ndarray]:
        return parse(self.text(inputs))

    def input_channels(self, inputs: np.ndarray) -> dict[str, np.ndarray]:
        return parse(self.text(inputs))

    def describe_example(self, inputs: np.ndarray, target: np.ndarray) -> str:
        text = self.text(inputs)
        depth = parse(text)["nesting depth"]
        shown = text[:60].replace("\n", "↵")
        return f"“{shown}{'…' if len(text) > 60 else ''}”: nesting depth up to {int(depth.max())}."

    def encode_text(self, text: str) -> tuple[np.ndarray, list[str], list[int]]:
        if not text:
            raise UploadError("paste or type some text first")
        if len(text) > self.max_typed_characters:
            raise UploadError(f"the text has {len(text):,} characters; the limit is {self.max_typed_characters:,}")
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        # Capitals are read as small letters; any other character outside the alphabet becomes ¤ and is flagged.
        indices = [CHAR_INDEX.get(c.lower() if c.isascii() else c, 0) if c != UNK else 0 for c in text]
        unknown = [t for t, i in enumerate(indices) if i == 0]
        return one_hot(indices, len(ALPHABET)), [show(c) for c in text], unknown


BRACKETS = BracketsTask()
