"""The text tasks (generated sentiment, bracket language, uploaded labelled text) and the Try it engine functions,
each against an independent computation: a hand-written reader of the grammar, a stack checker, sampled
frequencies, a model's own forward pass."""
import math
from collections import Counter

import numpy as np
import pytest
import torch

from lstm_viz.data import datastore
from lstm_viz.rules.errors import ConfigError, UploadError
from lstm_viz.core.model import ModelConfig, build_model
from lstm_viz.core.tasks import TASKS, get_task
from lstm_viz.core.tasks.brackets import (
    ALPHABET, BRACKETS, CLOSERS, MAX_DEPTH, OPENERS, QUOTE, generate_strings, next_character_choices,
)
from lstm_viz.core.tasks.labelled_text import (
    LABELLED_TEXT, MAX_CLASSES, MAX_TEXT_ROWS, MAX_VOCABULARY, validate_labelled_text,
)
from lstm_viz.core.tasks.sentiment import (
    CLASSES, END_MARKS, MAX_CLAUSE_WORDS, NEGATORS, SENTIMENT, VOCABULARY, WORD_POLARITY,
)
from lstm_viz.data.text import UNK, Vocabulary, tokenize
from lstm_viz.analysis.text_generation import find_feature_unit, read_text, sample_characters, tracking_unit
from lstm_viz.core.trainer import RunConfig, Trainer


def seeded(seed=0):
    return torch.Generator().manual_seed(seed)


# ----- sentiment -----------------------------------------------------------------------------------------------
def independent_label(words):
    """The grammar's meaning, read differently from the task's reader: split at 'but', take the last opinion word
    of the last part, and flip it if a negator stands between it and the previous opinion word, comma, "and" or
    the start of that part."""
    text = " ".join(words)
    part = text.split(" but ")[-1].split()
    opinion_positions = [i for i, w in enumerate(part) if w in WORD_POLARITY]
    if not opinion_positions:
        return 1  # a statement of fact: neutral
    position = opinion_positions[-1]
    polarity = WORD_POLARITY[part[position]]
    window_start = max([-1, *[i for i in range(position) if part[i] in WORD_POLARITY or part[i] in (",", "and")]]) + 1
    if any(w in NEGATORS for w in part[window_start:position]):
        polarity = -polarity
    return {-1: 0, 0: 1, 1: 2}[polarity]


def test_sentiment_classes_are_balanced_and_labels_follow_the_grammar():
    reviews, labels, spans = SENTIMENT.generate_reviews(3000, 10, seeded())
    shares = np.bincount(labels, minlength=3) / len(labels)
    assert np.all(np.abs(shares - 1 / 3) < 0.03), shares
    for words, label, (start, end) in zip(reviews, labels, spans):
        clause = words[start:end]
        assert clause[-1] in END_MARKS and not any(w in WORD_POLARITY or w in NEGATORS or w == "but" for w in words[:start] + words[end:])
        assert independent_label(clause) == label, (" ".join(clause), CLASSES[label])


def test_sentiment_needs_negation_and_contrast():
    reviews, labels, spans = SENTIMENT.generate_reviews(3000, 5, seeded(1))
    clauses = [words[start:end] for words, (start, end) in zip(reviews, spans)]
    negated = [any(w in NEGATORS for w in c) for c in clauses]
    contrast = ["but" in c for c in clauses]
    assert 0.15 < np.mean(negated) < 0.6
    assert 0.25 < np.mean(contrast) < 0.6
    # A positive review made of a negative word ("not bad at all") and a negative one whose first part is positive.
    assert any(lab == 2 and "at" in c and any(WORD_POLARITY.get(w) == -1 for w in c) and "but" not in c
               for c, lab in zip(clauses, labels))
    assert any(lab == 0 and "but" in c and any(WORD_POLARITY.get(w) == 1 for w in c[:c.index("but")])
               for c, lab in zip(clauses, labels))
    # A bag of words cannot tell these apart: the same opinion words appear under different labels.
    by_words = {}
    for c, lab in zip(clauses, labels):
        by_words.setdefault(frozenset(w for w in c if w in WORD_POLARITY), set()).add(lab)
    assert any(len(labs) > 1 for labs in by_words.values())


@pytest.mark.parametrize("length", [0, 7, 40])
def test_sentiment_filler_after_the_deciding_words_spans_0_to_length(length):
    inputs, targets = SENTIMENT.generate(600, length, seeded(2))
    assert inputs.shape == (600, SENTIMENT.sequence_length(length), len(VOCABULARY))
    assert inputs.shape[1] == length + MAX_CLAUSE_WORDS
    distances = []
    for example, target in zip(inputs.numpy(), targets.numpy()):
        if CLASSES[target] == "neutral":
            continue  # a neutral verdict may rest on no word at all (a fact, a word the model does not know)
        words = SENTIMENT.words(example)
        last_but = max([-1, *[i for i, w in enumerate(words) if w == "but"]])
        opinions = [i for i, w in enumerate(words) if w in WORD_POLARITY and i > last_but]
        if not opinions:
            continue  # neutral: a statement of fact, or a word the model does not know
        # After its opinion word the clause has at most "with the room , <unk> <unk> <unk> ."
        after = len(words) - 1 - opinions[-1]
        assert 1 <= after <= length + 8
        distances.append(after)
    assert max(distances) >= length + 1  # the far end of the range occurs
    if length >= 7:
        counts = np.bincount(distances)
        assert (counts[1:4] > 0).any() and counts[length + 1:].sum() > 0
    again, _ = SENTIMENT.generate(600, length, seeded(2))
    assert torch.equal(inputs, again)


def test_sentiment_baseline_is_the_error_of_a_constant_guess():
    inputs, targets = SENTIMENT.generate(3000, 5, seeded(3))
    for guess in range(3):
        outputs = torch.zeros(len(targets), 3)
        outputs[:, guess] = 1.0
        empirical = SENTIMENT.metric(outputs, targets)
        assert empirical == pytest.approx(np.mean(targets.numpy() != guess), abs=1e-6)
        assert abs(empirical - SENTIMENT.baseline(5)) < 0.03
    assert SENTIMENT.baseline(5) == pytest.approx(2 / 3)


def test_typed_sentences_flag_unknown_words():
    inputs, tokens, unknown = SENTIMENT.encode_text("The food was NOT bad at all, bro!")
    assert tokens == ["the", "food", "was", "not", "bad", "at", "all", ",", "bro", "!"]
    assert [tokens[i] for i in unknown] == ["bro"]
    assert inputs.shape == (10, len(VOCABULARY))
    assert all(inputs[i].argmax() == VOCABULARY.index[UNK] for i in unknown)
    assert inputs[4].argmax() == VOCABULARY.index["bad"]
    with pytest.raises(UploadError, match="at least one word"):
        SENTIMENT.encode_text("-- @@ #")
    features = SENTIMENT.features(SENTIMENT.encode_text("good food but the room was not comfy")[0])
    # After "but" only the rest counts, and "comfy" is unknown: no opinion read there, so neutral.
    assert list(features["sentiment so far"]) == [1, 1, 0, 0, 0, 0, 0, 0]
    features = SENTIMENT.features(SENTIMENT.encode_text("good food but the room was not comfy . not good")[0])
    assert list(features["negation waiting"]) == [0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 0]  # the full stop ends it
    features = SENTIMENT.features(SENTIMENT.encode_text("It wasn’t good, I didnt like it...")[0])
    assert list(features["sentiment so far"]) == [0, 0, -1, -1, -1, -1, -1, -1, -1]  # "wasn't good", "didnt like"


def test_the_tokenizer_handles_case_punctuation_and_typed_apostrophes():
    assert tokenize("I love this product!") == ["i", "love", "this", "product", "!"]
    assert tokenize("This restaurant is okay...") == ["this", "restaurant", "is", "okay", "..."]
    assert tokenize("LOVE it!! Wasn’t bad… product.") == ["love", "it", "!", "!", "wasn't", "bad", "...", "product", "."]
    # Every vocabulary entry is one token as the tokenizer reads it, so typed text meets the words trained on.
    assert all(tokenize(word) == [word] for word in VOCABULARY.words[2:])


# ----- brackets --------------------------------------------------------------------------------------------------
def check_balanced(text):
    """An independent stack checker: brackets inside quotes are text; every closer matches the innermost opener."""
    stack, quoted, deepest = [], False, 0
    for char in text:
        if char == QUOTE:
            quoted = not quoted
        elif quoted:
            continue
        elif char in OPENERS:
            stack.append(char)
            deepest = max(deepest, len(stack))
        elif char in CLOSERS:
            assert stack and OPENERS.index(stack.pop()) == CLOSERS.index(char), text
    return not stack and not quoted, deepest


@pytest.mark.parametrize("characters", [1, 2, 5, 31, 200])
def test_bracket_strings_are_always_balanced(characters):
    strings = generate_strings(500, characters, np.random.default_rng(characters))
    deepest = 0
    for row in strings:
        text = "".join(ALPHABET[i] for i in row)
        assert ALPHABET[0] not in text
        balanced, depth = check_balanced(text)
        assert balanced, repr(text)
        deepest = max(deepest, depth)
    assert deepest <= MAX_DEPTH
    if characters >= 200:
        assert deepest >= 3  # the language does nest
        assert any(QUOTE in "".join(ALPHABET[i] for i in row) for row in strings)


def test_depth_and_quote_features_match_an_independent_count():
    inputs, targets = BRACKETS.generate(50, 80, seeded(4))
    assert torch.equal(inputs[:, 1:].argmax(-1), targets[:, :-1])  # targets are the inputs shifted by one
    for example in inputs.numpy():
        text = BRACKETS.text(example)
        features = BRACKETS.features(example)
        quoted = np.cumsum([c == QUOTE for c in text]) % 2
        outside = np.r_[1, 1 - quoted[:-1]] * (1 - quoted) + 0  # outside quotes, both before and after the char
        step = np.array([(c in OPENERS) - (c in CLOSERS) for c in text]) * (quoted == 0) * (np.array(list(text)) != QUOTE)
        assert np.array_equal(features["inside quotes"], quoted)
        assert np.array_equal(features["nesting depth"], np.cumsum(step))
        assert outside.shape == step.shape


def test_bracket_baseline_and_floor_match_sampled_statistics():
    length = 30
    strings = generate_strings(20_000, length + 1, np.random.default_rng(5))
    counts = np.bincount(strings[:, 1:].ravel(), minlength=len(ALPHABET))
    frequencies = counts / counts.sum()
    empirical = -(frequencies[frequencies > 0] * np.log(frequencies[frequencies > 0])).sum()
    assert abs(empirical - BRACKETS.baseline(length)) < 0.01
    # The floor: the mean of -log p(next | everything before), replaying each string through the chain's rules.
    total, n = 0.0, 0
    for row in strings[:2000]:
        text = "".join(ALPHABET[i] for i in row)
        stack, quoted = (), False
        for t, char in enumerate(text):
            p = dict(next_character_choices(stack, quoted, len(text) - t))[char]
            if t >= 1:
                total -= math.log(p)
                n += 1
            if char == QUOTE:
                quoted = not quoted
            elif not quoted and char in OPENERS:
                stack = (*stack, OPENERS.index(char))
            elif not quoted and char in CLOSERS:
                stack = stack[:-1]
    assert abs(total / n - BRACKETS.entropy_floor(length)) < 0.02
    assert BRACKETS.entropy_floor(length) < BRACKETS.solved_threshold(length) < BRACKETS.baseline(length)


def test_pasted_text_maps_capitals_and_flags_other_characters():
    inputs, tokens, unknown = BRACKETS.encode_text('Hi (x)\r\n"5"')
    assert tokens == ["H", "i", "␣", "(", "x", ")", "↵", '"', "5", '"']
    assert unknown == [8]
    assert inputs[0].argmax() == ALPHABET.index("h")
    assert list(BRACKETS.features(inputs)["nesting depth"]) == [0, 0, 0, 1, 1, 0, 0, 0, 0, 0]


# ----- engine functions ------------------------------------------------------------------------------------------
def test_read_text_gives_the_models_own_prediction_after_every_word():
    task = SENTIMENT
    model = build_model(ModelConfig.for_task("lstm", task, hidden_size=16), seed=0)
    reading = read_text(model, task, "great coffee but the waiter was rude")
    inputs = torch.as_tensor(task.encode_text("great coffee but the waiter was rude")[0])
    for steps in (1, 4, 7):
        with torch.no_grad():
            expected = torch.softmax(model(inputs[:steps].unsqueeze(0)).double(), -1)[0].numpy()
        np.testing.assert_allclose(reading.probabilities[steps - 1], expected, rtol=1e-5)
    assert reading.trace.layers[0]["cell_state"].shape == (1, 7, 16)


@pytest.mark.parametrize("temperature", [0.3, 1.0, 2.5])
def test_sampling_draws_from_the_tempered_softmax_of_the_whole_text_so_far(temperature):
    model = build_model(ModelConfig.for_task("lstm", BRACKETS, hidden_size=16), seed=1)
    sample = sample_characters(model, BRACKETS, "(a", 25, temperature=temperature, seed=3)
    text, generator = "(a", torch.Generator().manual_seed(3)
    with torch.no_grad():
        for _ in range(25):  # re-reading the whole text each time instead of carrying the state
            logits = model(torch.as_tensor(BRACKETS.encode_text(text)[0]).unsqueeze(0))[0, -1].double() / temperature
            logits[0] = -torch.inf
            text += ALPHABET[int(torch.multinomial(torch.softmax(logits, -1), 1, generator=generator))]
    assert "(a" + sample == text
    hot = {sample_characters(model, BRACKETS, "(", 30, temperature=2.0, seed=s) for s in range(3)}
    assert len(hot) == 3 and all(ALPHABET[0] not in s for s in hot)
    with pytest.raises(ConfigError, match="temperature"):
        sample_characters(model, BRACKETS, "(", 5, temperature=0.0)


def test_tracking_unit_finds_the_unit_that_follows_a_feature():
    rng = np.random.default_rng(0)
    depth = rng.integers(0, 5, size=(4, 50)).astype(float)
    states = rng.normal(size=(4, 50, 8))
    states[..., 5] = -0.3 * depth + 0.01 * rng.normal(size=(4, 50))
    found = tracking_unit(states, depth)
    assert found.unit == 5 and found.correlation < -0.99
    assert found.correlation == pytest.approx(np.corrcoef(states[..., 5].ravel(), depth.ravel())[0, 1])


# ----- short training runs beat the no-memory baseline -----------------------------------------------------------
@pytest.mark.parametrize("task, length, steps", [("sentiment", 0, 150), ("brackets", 30, 150), ("labelled-text", 12, 120)])
def test_a_short_lstm_run_beats_the_baseline(task, length, steps):
    torch.set_num_threads(1)
    trainer = Trainer(RunConfig(task=task, length=length, archs=("lstm",), hidden_size=32, max_steps=steps, batch_size=32,
                                eval_every=50, eval_size=128, probe_every=100, seed=0))
    while not trainer.finished:
        trainer.train_step()
    metric = trainer.runs["lstm"].eval_metric[-1]
    floor = trainer.task.metric_floor(length)  # 0 for the classifiers, the language's entropy for brackets
    assert metric - floor < 0.8 * (trainer.baseline - floor), (task, metric, trainer.baseline, floor)
    # The neuron search works on every text task's features.
    name = next(iter(trainer.task.features(trainer.probe_inputs[0].numpy())))
    model = trainer.runs["lstm"].model
    found = find_feature_unit(model, trainer.task, trainer.probe_inputs, name)
    # Against np.corrcoef of every unit's cell state, read from PyTorch's own LSTM, with the feature.
    with torch.no_grad():
        embedded = model.embed(trainer.probe_inputs)
        cells = []
        state = None
        for step in range(embedded.shape[1]):
            _, state = model.recurrent(embedded[:, step:step + 1], state)
            cells.append(state[1][0].numpy() if isinstance(state, tuple) else state[0].numpy())
    cell_state = np.stack(cells, axis=1).reshape(-1, 32).astype(np.float64)
    feature = np.stack([trainer.task.features(x.numpy())[name] for x in trainer.probe_inputs]).reshape(-1)
    correlations = np.nan_to_num([np.corrcoef(cell_state[:, unit], feature)[0, 1] for unit in range(32)])
    assert found.state == "cell_state" and found.unit == int(np.argmax(np.abs(correlations)))
    assert found.correlation == pytest.approx(correlations[found.unit], abs=1e-5)


def test_text_tasks_are_registered():
    assert {"sentiment", "brackets", "labelled-text"} <= set(TASKS)
    for name in ("sentiment", "brackets", "labelled-text"):
        task = get_task(name)
        assert task.accepts_text and task.length_caption
        # One-hot inputs stay small; a large vocabulary is read through a learned embedding.
        assert task.input_size <= (1000 if task.embedding_size else 200)


# ----- uploaded labelled text ------------------------------------------------------------------------------------
def csv_bytes(rows, header="text,label"):
    return ("\n".join([header, *rows]) + "\n").encode()


GOOD_ROWS = [f"the soup number {i} was cold,{'food' if i % 2 else 'weather'}" for i in range(30)]


@pytest.mark.parametrize("raw, message", [
    pytest.param("text,label\nnaïve soup,food\n".encode("latin-1") * 30, "not UTF-8", id="not-utf8"),
    pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8", id="binary-image"),
    pytest.param(b"text,label\x00\x00\x01\x02,food\n", "NUL bytes", id="binary-not-csv"),
    pytest.param(b'text,label\n"an unclosed quote,food\nsecond,weather\n', "not a readable CSV", id="not-csv"),
    pytest.param(b"", "empty", id="empty"),
    pytest.param(csv_bytes(["x,a"] * (MAX_TEXT_ROWS + 1)), f"the limit for labelled text is {MAX_TEXT_ROWS:,}", id="too-many-rows"),
    pytest.param(b"text,label\n" + b"a" * (5 * 2**20) + b",food\n", "the limit for labelled text is 5 MB", id="too-large"),
    pytest.param(csv_bytes([f"text {i},class{i % (MAX_CLASSES + 1)}" for i in range(40)]), f"the limit is {MAX_CLASSES}", id="too-many-classes"),
    pytest.param(csv_bytes([*GOOD_ROWS[:5], "no label here,", *GOOD_ROWS[5:]]), "labels missing in row 7", id="labels-missing"),
    pytest.param(csv_bytes(GOOD_ROWS, header="text,colour"), "no label column", id="label-column-missing"),
    pytest.param(csv_bytes([f"soup {i},food" for i in range(30)]), "at least two classes", id="one-class"),
    pytest.param(csv_bytes(GOOD_ROWS, header="words,label"), "no text column", id="text-column-missing"),
    pytest.param(csv_bytes(GOOD_ROWS[:10]), "at least 20", id="too-few-rows"),
    pytest.param(csv_bytes([*GOOD_ROWS, ",food"]), "text missing in row 32", id="text-missing"),
])
def test_bad_uploads_get_a_clear_message(raw, message):
    with pytest.raises(UploadError, match=message):
        validate_labelled_text(raw, "reviews.csv")


def test_an_uploaded_data_set_trains_and_its_baseline_is_the_majority_error():
    datastore.clear()
    rows = [f"it rained all day {i};weather" for i in range(30)] + [f"the bread {i} was fresh;food" for i in range(10)]
    dataset = validate_labelled_text(csv_bytes(rows, header="Text;Label"), "mine.csv")
    assert dataset.kind == "labelled-text" and dataset.content["counts"] == {"food": 10, "weather": 30}
    task = LABELLED_TEXT.with_options(dataset=dataset.key)
    assert task.classes == ["food", "weather"] and task.output_size == 2
    assert task.input_size == len(task.vocabulary) <= MAX_VOCABULARY
    test_targets = task.data.targets[task.data.test_rows]
    assert task.baseline(10) == pytest.approx(1 - np.mean(test_targets == 1))
    inputs, targets = task.generate(64, 10, seeded(), split="test")
    assert set(targets.tolist()) <= set(test_targets.tolist())
    assert inputs.shape == (64, 10, task.input_size)
    first = task.input_tokens(inputs[0].numpy())
    assert first[-1] != "<pad>" and first[0] == "<pad>"  # left-padded: the text ends at the last step
    config = RunConfig(task="labelled-text", task_options={"dataset": dataset.key}, length=10, archs=("lstm",),
                       hidden_size=8, max_steps=3, batch_size=8)
    trainer = Trainer(config)
    trainer.train_step()
    with pytest.raises(ConfigError, match="takes the option"):
        LABELLED_TEXT.with_options(series="x")
    datastore.clear()
    with pytest.raises(ConfigError, match="upload it again"):
        LABELLED_TEXT.with_options(dataset=dataset.key)


def test_uploaded_vocabulary_is_capped():
    words = [a + b for a in "abcdefghijklmnopqrst" for b in "abcdefghijklmnopqrst"]  # 400 distinct words
    rows = [f"{words[2 * i]} {words[2 * i + 1]},{'x' if i % 2 else 'y'}" for i in range(200)]
    dataset = validate_labelled_text(csv_bytes(rows), "big.csv")
    task = LABELLED_TEXT.with_options(dataset=dataset.key)
    assert len(task.vocabulary) == MAX_VOCABULARY
    assert task.data.words_left_out > 0
    kept = task.vocabulary.words[2]
    _, tokens, unknown = task.encode_text(f"{kept} zzzz")
    assert tokens == [kept, "zzzz"] and unknown == [1]  # words outside the kept vocabulary are flagged


def test_vocabulary_keeps_the_most_frequent_words():
    vocabulary, left_out = Vocabulary.from_texts(["b a a", "c a b", "d"], max_size=4)
    assert vocabulary.words == ["<pad>", "<unk>", "a", "b"] and left_out == 2
    assert tokenize("Don't STOP, 42 times!") == ["don't", "stop", ",", "42", "times", "!"]
    assert Counter(vocabulary.encode(["a", "zzz"])[0]) == Counter([2, 1])


def test_the_verdict_measures_progress_from_the_baseline_to_the_languages_entropy():
    trainer = Trainer(RunConfig(task="brackets", length=20, archs=("lstm",), hidden_size=4, max_steps=1, eval_size=8))
    floor, baseline = BRACKETS.entropy_floor(20), BRACKETS.baseline(20)
    run = trainer.runs["lstm"]
    run.eval_metric[-1] = floor + 0.25 * (baseline - floor)
    assert f"75% of the way from the no-memory baseline {baseline:.3f} to the best possible {floor:.3f}" in trainer.verdict()
    run.eval_metric[-1] = floor + 0.95 * (baseline - floor)
    assert "stayed at" in trainer.verdict()
