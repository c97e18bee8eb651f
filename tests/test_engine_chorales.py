"""The chorale next-note task: its data read from the shipped file, its split by tune, its loss in bits, its
features, and the unigram and bigram baselines against a count written here from the JSON file alone (no code of
the task); typed primers, hostile ones included; the CLI trains it and the exports work or refuse clearly."""
import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from lstm_viz.core.tasks import get_task
from lstm_viz.core.tasks.chorales import count_baselines, phrase_position
from lstm_viz.core.trainer import RunConfig, Trainer
from lstm_viz.data import chorales as data
from lstm_viz.io import cli
from lstm_viz.io.export import load_model, metrics_csv_bytes, model_zip_bytes, traces_npz_bytes
from lstm_viz.io.standalone import standalone_script
from lstm_viz.rules.errors import ConfigError, UploadError

SHIPPED = Path(__file__).resolve().parents[1] / "assets" / "data" / "bach_chorales.json"
TASK = get_task("chorales")


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return json.loads(SHIPPED.read_text())["chorales"]


def stream_of(records, split):
    """(pitch, (length, fermata)) of every note of the split, chorales end to end in the file's order."""
    return [(p, (float(q), i in set(r["fermata"]))) for r in records if r["split"] == split
            for i, (p, q) in enumerate(zip(r["pitch"], r["ql"]))]


def independent_baselines(records) -> dict[str, float]:
    """Add-one unigrams and Witten-Bell bigrams by plain counting, scored on every test note after the first."""
    train, test = stream_of(records, "train"), stream_of(records, "test")
    everything = stream_of(records, "train") + test
    pitches = range(min(p for p, _ in everything), max(p for p, _ in everything) + 1)
    durations = sorted({d for _, d in everything})
    result = {}
    for column, vocabulary in ((0, pitches), (1, durations)):
        symbols = [note[column] for note in train]
        counts, pairs = Counter(symbols), Counter(zip(symbols, symbols[1:]))
        unigram = {v: (counts[v] + 1) / (len(symbols) + len(vocabulary)) for v in vocabulary}
        followers = Counter(a for a, _ in pairs)  # distinct successors of each context
        context = Counter(symbols[:-1])

        def bigram(a, b):
            if context[a] == 0:
                return unigram[b]
            return (pairs[(a, b)] + followers[a] * unigram[b]) / (context[a] + followers[a])

        targets = [note[column] for note in test]
        result[f"unigram_{column}"] = -sum(math.log2(unigram[b]) for b in targets[1:]) / (len(targets) - 1)
        result[f"bigram_{column}"] = -sum(math.log2(bigram(a, b)) for a, b in zip(targets, targets[1:])) / (len(targets) - 1)
    return result


def test_the_baselines_are_the_counts_of_the_training_melodies_scored_on_the_test_tunes(records):
    expected = independent_baselines(records)
    counts = count_baselines()
    assert counts.unigram_pitch == pytest.approx(expected["unigram_0"], rel=1e-12)
    assert counts.unigram_duration == pytest.approx(expected["unigram_1"], rel=1e-12)
    assert counts.bigram_pitch == pytest.approx(expected["bigram_0"], rel=1e-12)
    assert counts.bigram_duration == pytest.approx(expected["bigram_1"], rel=1e-12)
    assert TASK.baseline(32) == pytest.approx(expected["unigram_0"] + expected["unigram_1"])
    assert TASK.solved_threshold(32) == pytest.approx(expected["bigram_0"] + expected["bigram_1"])
    # Knowing the previous note is worth something; a melody is not a sequence of independent draws.
    assert counts.bigram < counts.unigram - 1.0
    assert counts.notes == len(stream_of(records, "test")) - 1


def test_the_split_keeps_every_test_tune_out_of_training(records):
    train_ids = {r["id"] for r in records if r["split"] == "train"}
    test = [r for r in records if r["split"] == "test"]
    assert test and not train_ids & {r["id"] for r in test}
    train_openings = {tuple(r["pitch"][:8]) for r in records if r["split"] == "train"}
    assert not any(tuple(r["pitch"][:8]) in train_openings for r in test)
    trained = {tuple(r["pitch"][i:i + 12]) for r in records if r["split"] == "train" for i in range(len(r["pitch"]) - 11)}
    assert not any(tuple(r["pitch"][i:i + 12]) in trained for r in test for i in range(len(r["pitch"]) - 11))
    # The training batches come from the training stream only: every window is a run of its notes.
    train = np.concatenate(data.split_notes("train"))
    inputs, targets = TASK.generate(8, 16, torch.Generator().manual_seed(3), split="train")
    joined = train[:, 0] * 100 + train[:, 1]
    for example, target in zip(inputs.numpy(), targets.numpy()):
        notes = np.vstack([TASK.decode_inputs(example), target[-1:]])
        window = notes[:, 0] * 100 + notes[:, 1]
        starts = np.flatnonzero(joined == window[0])
        assert any(np.array_equal(joined[s:s + len(window)], window) for s in starts)
        assert np.array_equal(TASK.decode_inputs(example)[1:], target[:-1])  # targets are the next notes


def test_the_loss_is_the_two_cross_entropies_in_bits():
    inputs, targets = TASK.generate(4, 10, torch.Generator().manual_seed(0), split="test")
    outputs = torch.randn(4, 10, TASK.output_size, generator=torch.Generator().manual_seed(1))
    pitches = len(data.vocabulary().pitches)
    probabilities = torch.softmax(outputs[..., :pitches].double(), -1), torch.softmax(outputs[..., pitches:].double(), -1)
    expected = np.zeros(4)
    for b in range(4):
        for t in range(10):
            expected[b] -= math.log2(probabilities[0][b, t, targets[b, t, 0]]) + math.log2(probabilities[1][b, t, targets[b, t, 1]])
    assert TASK.per_example_loss(outputs, targets).numpy() == pytest.approx(expected / 10, rel=1e-5)


def test_phrase_position_counts_notes_since_the_last_fermata():
    primer = data.parse_notes("C4 D4 E4/2! G4 A4 G4! C5 B4")
    assert list(phrase_position(primer[:, 1])) == [0, 1, 2, 0, 1, 2, 0, 1]
    features = TASK.features(TASK.encode_notes(primer))
    assert list(features["pitch height"]) == [60, 62, 64, 67, 69, 67, 72, 71]
    assert list(features["phrase position"]) == [0, 1, 2, 0, 1, 2, 0, 1]


def test_typed_notes_are_read_and_written_back():
    notes = data.parse_notes("G4 A4 B4/2 c5/0.5 Bb4/1/2 F#4/3!")
    vocab = data.vocabulary()
    assert [vocab.pitches[p] for p in notes[:, 0]] == [67, 69, 71, 72, 70, 66]
    assert [vocab.durations[d] for d in notes[:, 1]] == [(1.0, False), (1.0, False), (2.0, False), (0.5, False),
                                                          (0.5, False), (3.0, True)]
    assert data.format_notes(notes) == "G4 A4 B4/2 C5/0.5 Bb4/0.5 F#4/3!"
    assert np.array_equal(data.parse_notes(data.format_notes(notes)), notes)


@pytest.mark.parametrize("text, message", [
    ("H4 A4", "“H4” is not a note"),
    ("G4 A4 X", "“X” is not a note"),
    ("G", "“G” is not a note"),
    ("C1", "stay between"),
    ("G4/7", "no chorale has a note of 7 beats"),
    ("G4/0.5!", "under a fermata"),
    ("", "at least one note"),
    ("   ", "at least one note"),
    ("G4 " * 65, "the limit is 64"),
    ("G4" * 500_000, "1,000,000 characters"),
    ("G4 <script>alert(1)</script>", "is not a note"),
    ("G4 A4\x00", "is not a note"),
    ("G4/1e308", "is not a note"),
])
def test_hostile_primers_get_a_message(text, message):
    with pytest.raises(UploadError, match=message):
        data.parse_notes(text)


def test_the_cli_trains_the_task_and_its_files_load(tmp_path, capsys):
    code = cli.main(["train", "--task", "chorales", "--length", "16", "--arch", "gru", "lstm", "--steps", "6",
                     "--hidden", "8", "--eval-every", "3", "--probe-every", "3", "--cell-threads", "1",
                     "--out", str(tmp_path), "--quiet"])
    assert code == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["task"] == "chorales" and set(metrics["archs"]) == {"gru", "lstm"}
    assert metrics["baseline"] == pytest.approx(count_baselines().unigram)
    assert metrics["solved_threshold"] == pytest.approx(count_baselines().bigram)
    model = load_model(tmp_path / "lstm.safetensors")
    inputs, _ = TASK.generate(2, 16, torch.Generator().manual_seed(0), split="test")
    assert model(inputs).shape == (2, 16, TASK.output_size)
    assert "unigram baseline" in capsys.readouterr().out  # the verdict names the task's baseline


def test_the_exports_work_and_the_standalone_script_refuses_clearly():
    trainer = Trainer(RunConfig(task="chorales", length=12, archs=("rnn", "lstm"), hidden_size=8, max_steps=4,
                                eval_every=2, probe_every=2))
    while not trainer.finished:
        trainer.train_step()
    assert model_zip_bytes(trainer)[:2] == b"PK"
    assert traces_npz_bytes(trainer)[:2] == b"PK"
    assert b"lstm" in metrics_csv_bytes(trainer)
    with pytest.raises(ConfigError, match="not for Bach chorale melodies"):
        standalone_script(trainer.config)
