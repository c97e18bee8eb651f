"""The bundled sentiment model on everyday reviews it never saw: tests/fixtures/everyday_reviews.tsv was written (and
committed) before the generator's final form and before training, and no sentence of it is one the generator makes.
The accuracy per class is printed (pytest -s) for the report; the bar is 90% overall and the seed's three examples."""
import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from lstm_viz.runs.bundled import SENTIMENT_RUN, load_bundled_run
from lstm_viz.core.tasks.sentiment import FILLER_SENTENCES, MAX_CLAUSE_WORDS, SENTIMENT
from lstm_viz.data.text import tokenize

FIXTURE = Path(__file__).parent / "fixtures" / "everyday_reviews.tsv"
SEED_EXAMPLES = {  # the seed's own examples, and a clear negative one
    "I love this product!": "positive",
    "This restaurant is okay...": "neutral",
    "The service was terrible!": "negative",
}


def fixture_rows() -> list[tuple[str, str]]:
    with FIXTURE.open(encoding="utf-8") as handle:
        return [(row["sentence"], row["label"]) for row in csv.DictReader(handle, delimiter="\t")]


def bundled_lstm():
    trainer = load_bundled_run(SENTIMENT_RUN)
    model = trainer.runs["lstm"].model
    model.eval()
    return trainer.task, model


def predictions(task, model, sentences: list[str]) -> list[str]:
    """The model's class for each sentence, read as the Try it page reads it (the sentence alone, no padding)."""
    out = []
    with torch.no_grad():
        for sentence in sentences:
            inputs = torch.as_tensor(task.encode_text(sentence)[0]).unsqueeze(0)
            out.append(task.classes[int(model(inputs)[0].argmax())])
    return out


def test_the_fixture_is_big_enough_and_covers_every_class():
    rows = fixture_rows()
    assert len(rows) >= 60
    labels = [label for _, label in rows]
    assert set(labels) == set(SENTIMENT.classes) and min(labels.count(c) for c in SENTIMENT.classes) >= 20
    by_sentence = dict(rows)
    assert all(by_sentence[s] == label for s, label in SEED_EXAMPLES.items())


# Short everyday sentences that the generator's frames also build, word for word, found in the sample below. The
# fixture was written first and is not edited to dodge them; the accuracy bar also holds without them.
GENERATED_TOO = {"This restaurant is okay...", "The kids loved it.", "I hate this phone.", "The seats were uncomfortable.",
                 "It was okay."}


def generated_clauses(count: int = 100_000) -> set[str]:
    reviews, _, spans = SENTIMENT.generate_reviews(count, 0, torch.Generator().manual_seed(0))
    return {" ".join(words[start:end]) for words, (start, end) in zip(reviews, spans)}


def test_no_fixture_sentence_is_in_the_generators_templates_and_few_are_generated():
    fixture = {" ".join(tokenize(sentence)): sentence for sentence, _ in fixture_rows()}
    fixed_sentences = {" ".join(tokenize(sentence)) for sentence in FILLER_SENTENCES}
    assert not set(fixture) & fixed_sentences
    generated = {fixture[text] for text in set(fixture) & generated_clauses()}
    assert generated <= GENERATED_TOO, generated - GENERATED_TOO
    assert MAX_CLAUSE_WORDS < 40


def test_the_bundled_model_reads_the_seed_examples_right():
    task, model = bundled_lstm()
    sentences = list(SEED_EXAMPLES)
    assert predictions(task, model, sentences) == [SEED_EXAMPLES[s] for s in sentences]


def test_the_bundled_model_gets_nine_in_ten_everyday_reviews_right():
    task, model = bundled_lstm()
    rows = fixture_rows()
    predicted = predictions(task, model, [sentence for sentence, _ in rows])
    right = np.array([p == label for p, (_, label) in zip(predicted, rows)])
    per_class = {c: float(np.mean([r for r, (_, label) in zip(right, rows) if label == c])) for c in task.classes}
    print(f"\neveryday reviews: {right.mean():.1%} of {len(rows)} right; per class "
          + ", ".join(f"{c} {v:.1%}" for c, v in per_class.items()))
    for p, (sentence, label) in zip(predicted, rows):
        if p != label:
            print(f"  wrong: {sentence!r} is {label}, read as {p}")
    assert right.mean() >= 0.9, per_class
    never_generated = [r for r, (sentence, _) in zip(right, rows) if sentence not in GENERATED_TOO]
    print(f"  on the {len(never_generated)} sentences the generator never built: {np.mean(never_generated):.1%}")
    assert np.mean(never_generated) >= 0.9


@pytest.mark.parametrize("arch", ["rnn", "lstm"])
def test_the_bundled_run_records_its_cells_on_the_generated_test_set(arch):
    # The memory demo stays honest: the RNN, reading past up to 20 filler words, does far worse than the LSTM.
    trainer = load_bundled_run(SENTIMENT_RUN)
    metrics = {a: run.last_metric for a, run in trainer.runs.items()}
    assert metrics["lstm"] <= trainer.task.solved_threshold(trainer.config.length)
    assert metrics["rnn"] > 5 * max(metrics["lstm"], 0.02)
    assert trainer.runs[arch].model.embedding is not None


def test_the_shipped_opinion_words_carry_vaders_polarity():
    vader = pytest.importorskip("vaderSentiment.vaderSentiment")
    from lstm_viz.core.tasks.sentiment import INTENSIFIERS, NEGATORS, WORDS_FILE, WORD_POLARITY
    lexicon = {}
    for line in Path(vader.__file__).with_name("vader_lexicon.txt").read_text(encoding="utf-8").splitlines():
        word, valence, *_ = line.split("\t")
        lexicon[word] = float(valence)
    with WORDS_FILE.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert len(rows) > 300
    for row in rows:
        if row["role"] == "negator":
            assert row["word"] in vader.NEGATE
        elif row["role"] == "intensifier":
            assert vader.BOOSTER_DICT[row["word"]] > 0
        else:
            valence = lexicon[row["word"]]
            assert float(row["valence"]) == valence
            expected = 1 if valence >= 1.3 else -1 if valence <= -1.3 else 0
            assert abs(valence) >= 1.3 or abs(valence) <= 1.0
            assert int(row["polarity"]) == expected, row
    # The task's reader uses exactly these polarities, and only VADER's negators and boosters.
    shipped = {row["word"]: int(row["polarity"]) for row in rows if row["role"] not in ("negator", "intensifier")}
    assert WORD_POLARITY == shipped
    assert NEGATORS <= set(vader.NEGATE) and set(INTENSIFIERS) <= set(vader.BOOSTER_DICT)
