"""Classify the user's own texts: a CSV of text and label (uploaded or pasted), validated, stored in the data store,
and trained on word by word with the same tokenisation as the sentiment task.

`validate_labelled_text(raw_bytes, name)` turns an upload into a stored data set (or an UploadError saying exactly
what is wrong); the task configured by `task_options={"dataset": key}` trains on it. Rows are split once, by a fixed
shuffle, into training rows (80%) and test rows (20%); the test and probe examples come from the test rows. With no
upload, the task trains on a small bundled example (assets/data/example_labelled_text.csv) so the Train page always
has something to run.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

from lstm_viz.data import datastore
from lstm_viz.rules.errors import ConfigError, UploadError
from lstm_viz.data.text import UNK_INDEX, Vocabulary, encode_words, left_pad, one_hot_tensor, tokenize
from lstm_viz.core.tasks.base import Split, Task
from lstm_viz.rules import paths

KIND = "labelled-text"
EXAMPLE_CSV = paths.DATA_DIR / "example_labelled_text.csv"
# The limits every upload is held to; the page states them next to the upload widget.
MAX_TEXT_ROWS = 20_000
MIN_TEXT_ROWS = 20
MAX_CLASSES = 10
MAX_VOCABULARY = 200  # words kept (the most frequent), including <pad> and <unk>; one-hot, then embedded
MAX_TEXT_CHARACTERS = 2_000  # per text
TEXT_COLUMNS = ("text", "sentence", "review", "comment", "message")
LABEL_COLUMNS = ("label", "class", "sentiment", "category", "target")
TEST_FRACTION = 0.2
SPLIT_SEED = 12345


def _find_column(table: "pd.DataFrame", names: tuple[str, ...]) -> str | None:
    lowered = {str(column).strip().lower(): column for column in table.columns}
    return next((lowered[name] for name in names if name in lowered), None)


def _rows(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:5])
    return f"row {shown}" if len(numbers) == 1 else f"rows {shown}{' and others' if len(numbers) > 5 else ''}"


def validate_labelled_text(raw: bytes, name: str = "the file") -> datastore.Dataset:
    """Check an uploaded or pasted CSV of texts and labels and store it; every problem raises UploadError."""
    if len(raw) > 5 * 2**20:
        raise UploadError(f"{name} is {len(raw) / 2**20:.1f} MB; the limit for labelled text is 5 MB")
    from lstm_viz.data.csv_reading import read_csv  # lazily: pandas takes 0.3 s to import

    table = read_csv(raw, name, max_rows=MAX_TEXT_ROWS)
    text_column = _find_column(table, TEXT_COLUMNS)
    label_column = _find_column(table, LABEL_COLUMNS)
    found = ", ".join(f"“{c}”" for c in table.columns)
    if text_column is None:
        raise UploadError(
            f"{name} has no text column: name one column “text” (or {', '.join(TEXT_COLUMNS[1:])}). Columns found: {found}"
        )
    if label_column is None:
        raise UploadError(
            f"{name} has no label column: name one column “label” (or {', '.join(LABEL_COLUMNS[1:])}). Columns found: {found}"
        )
    if len(table) > MAX_TEXT_ROWS:
        raise UploadError(f"{name} has {len(table):,} rows; the limit for labelled text is {MAX_TEXT_ROWS:,}")
    labels = table[label_column]
    missing = [int(i) + 2 for i in np.flatnonzero(labels.isna() | (labels.astype(str).str.strip() == ""))]
    if missing:  # +2: the header is line 1, so the first data row is line 2 of the file
        raise UploadError(f"{name}: labels missing in {_rows(missing)} (line numbers of the file); every row needs a label")
    texts = table[text_column]
    empty = [int(i) + 2 for i in np.flatnonzero(texts.isna() | (texts.astype(str).str.strip() == ""))]
    if empty:
        raise UploadError(f"{name}: text missing in {_rows(empty)} (line numbers of the file); every row needs a text")
    texts = texts.astype(str).tolist()
    labels = [str(label).strip() for label in labels.tolist()]
    too_long = [i + 2 for i, text in enumerate(texts) if len(text) > MAX_TEXT_CHARACTERS]
    if too_long:
        raise UploadError(f"{name}: {_rows(too_long)} have more than {MAX_TEXT_CHARACTERS:,} characters; shorten those texts")
    wordless = [i + 2 for i, text in enumerate(texts) if not tokenize(text)]
    if wordless:
        raise UploadError(f"{name}: {_rows(wordless)} have no words (only symbols); remove them or add text")
    classes = sorted(set(labels))
    if len(classes) == 1:
        raise UploadError(f"{name}: every row has the label “{classes[0]}”; a classifier needs at least two classes")
    if len(classes) > MAX_CLASSES:
        raise UploadError(
            f"{name} has {len(classes)} different labels; the limit is {MAX_CLASSES}. Merge rare labels or check that "
            f"the label column (“{label_column}”) holds class names, not free text"
        )
    if len(texts) < MIN_TEXT_ROWS:
        raise UploadError(f"{name} has {len(texts)} rows; at least {MIN_TEXT_ROWS} are needed to train and test")
    counts = {c: labels.count(c) for c in classes}
    return datastore.put(KIND, name, {"texts": texts, "labels": labels, "classes": classes, "counts": counts})


class LabelledData:
    """A stored data set prepared for training: vocabulary, encoded rows, fixed train/test split."""

    def __init__(self, name: str, texts: list[str], labels: list[str], classes: list[str]):
        self.name = name
        self.classes = list(classes)
        order = np.random.default_rng(SPLIT_SEED).permutation(len(texts))
        test_count = max(1, int(round(TEST_FRACTION * len(texts))))
        self.test_rows, self.train_rows = order[:test_count], order[test_count:]
        self.vocabulary, self.words_left_out = Vocabulary.from_texts((texts[i] for i in self.train_rows), MAX_VOCABULARY)
        self.tokens = [tokenize(text) for text in texts]
        self.encoded = [self.vocabulary.encode(words)[0] for words in self.tokens]
        self.targets = np.array([self.classes.index(label) for label in labels], dtype=np.int64)
        train_counts = np.bincount(self.targets[self.train_rows], minlength=len(self.classes))
        self.majority = int(train_counts.argmax())
        self.test_share_of_majority = float((self.targets[self.test_rows] == self.majority).mean())
        self.lengths = np.array([len(words) for words in self.tokens])
        self.unknown_share = float(np.mean([i == UNK_INDEX for row in self.encoded for i in row]))


@lru_cache(maxsize=8)
def _prepared(key: str) -> LabelledData:
    dataset = datastore.get(key, KIND)
    return LabelledData(dataset.name, dataset.content["texts"], dataset.content["labels"], dataset.content["classes"])


@lru_cache(maxsize=1)
def _example() -> LabelledData:
    import pandas as pd

    table = pd.read_csv(EXAMPLE_CSV)
    return LabelledData("bundled example", table["text"].astype(str).tolist(), table["label"].astype(str).tolist(),
                        sorted(set(table["label"].astype(str))))


class LabelledTextTask(Task):
    name = "labelled-text"
    label = "Your labelled text (words)"
    readout = "last"
    embedding_size = 32  # each word of the upload's vocabulary becomes a learned vector, as in the sentiment task
    metric_name = "error rate"
    metric_unit = "fraction of texts misclassified"
    default_length = 30
    min_length = 2
    max_length = 100
    description = (
        "Classify your own texts: upload a CSV with a text and a label column (on the Try it page). Without an upload "
        "it trains on a small bundled example. Texts longer than T words are cut to their first T words."
    )
    baseline_description = "always guess the most common training label: error 1 − its share of the test rows"
    accepts_text = True

    @property
    def length_caption(self) -> str:
        data = self.data
        return (
            f"T = words read per text, 2–100 (longer texts are cut to their first T words). Data: {data.name}, "
            f"{len(data.train_rows) + len(data.test_rows):,} rows, {len(data.classes)} classes; vocabulary: the "
            f"{len(data.vocabulary) - 2} most frequent words (cap {MAX_VOCABULARY - 2}), others read as <unk>."
        )

    def __init__(self, dataset_key: str | None = None):
        self.dataset_key = dataset_key

    @property
    def data(self) -> LabelledData:
        return _prepared(self.dataset_key) if self.dataset_key else _example()

    @property
    def input_size(self) -> int:  # type: ignore[override]
        return len(self.data.vocabulary)

    @property
    def output_size(self) -> int:  # type: ignore[override]
        return len(self.data.classes)

    @property
    def classes(self) -> list[str]:
        return self.data.classes

    @property
    def vocabulary(self) -> Vocabulary:
        return self.data.vocabulary

    def with_options(self, **options) -> "LabelledTextTask":
        unknown = set(options) - {"dataset"}
        if unknown:
            raise ConfigError(f"the {self.label} task takes the option “dataset” only (got {', '.join(sorted(unknown))})")
        key = options.get("dataset")
        if not key:
            return self
        datastore.get(str(key), KIND)  # a clear error now if the upload is gone
        return LabelledTextTask(str(key))

    def generate(self, count: int, length: int, generator: torch.Generator, split: Split = "train") -> tuple[Tensor, Tensor]:
        data = self.data
        rows = data.train_rows if split == "train" else data.test_rows
        picked = rows[torch.randint(0, len(rows), (count,), generator=generator).numpy()]
        indices = np.array([left_pad(data.encoded[row], length) for row in picked], dtype=np.int64).reshape(count, length)
        return one_hot_tensor(indices, len(data.vocabulary)), torch.as_tensor(data.targets[picked])

    def per_example_loss(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return torch.nn.functional.cross_entropy(outputs, targets, reduction="none")

    def metric(self, outputs: Tensor, targets: Tensor) -> float:
        return float((outputs.argmax(dim=-1) != targets).float().mean())

    def baseline(self, length: int) -> float:
        # The evaluation draws test rows uniformly: guessing the training majority is wrong on the rest of them.
        return 1.0 - self.data.test_share_of_majority

    def solved_threshold(self, length: int) -> float:
        # Real labels are noisy: "solved" means a quarter of the baseline's errors.
        return 0.25 * self.baseline(length)

    def input_tokens(self, inputs: np.ndarray) -> list[str]:
        words = self.data.vocabulary.words
        return [words[int(i)] for i in np.asarray(inputs).argmax(axis=-1)]

    def input_channels(self, inputs: np.ndarray) -> dict[str, np.ndarray]:
        index = np.asarray(inputs).argmax(axis=-1)
        return {"known word": (index > UNK_INDEX).astype(np.float64), "unknown word": (index == UNK_INDEX).astype(np.float64)}

    def features(self, inputs: np.ndarray) -> dict[str, np.ndarray]:
        index = np.asarray(inputs).argmax(axis=-1)
        words = index > 0
        return {"words read so far": np.cumsum(words).astype(np.float64), "unknown word": (index == UNK_INDEX).astype(np.float64)}

    def describe_example(self, inputs: np.ndarray, target: np.ndarray) -> str:
        words = [w for w in self.input_tokens(inputs) if w != "<pad>"]
        label = self.classes[int(np.asarray(target).reshape(-1)[0])]
        shown = " ".join(words[:25]) + (" …" if len(words) > 25 else "")
        return f"“{shown}” → {label}."

    def encode_text(self, text: str) -> tuple[np.ndarray, list[str], list[int]]:
        return encode_words(text, self.data.vocabulary, self.max_length)


LABELLED_TEXT = LabelledTextTask()
