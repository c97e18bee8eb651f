"""Sampling melodies from the shipped chorale models, their limits, the test cross-entropy and the neuron search,
each against a computation written here (full forward passes, plain NumPy), and the WAV synthesiser: its length,
format and pitch (the fundamental found by an FFT)."""
import io
import math
import wave

import numpy as np
import pytest
import torch

from lstm_viz.analysis import melody
from lstm_viz.core.tasks.chorales import stream
from lstm_viz.data import chorales as data
from lstm_viz.io import audio
from lstm_viz.rules.errors import ConfigError
from lstm_viz.runs.bundled import CHORALES_RUN, load_bundled_run

PRIMER = "G4 G4 A4 B4 C5/2 B4/2!"


@pytest.fixture(scope="module")
def trainer():
    return load_bundled_run(CHORALES_RUN)


def trained(trainer, arch):
    import copy
    model = copy.deepcopy(trainer.runs[arch].model)
    model.load_state_dict(trainer.runs[arch].checkpoints[-1].state_dict)
    return model.eval()


@pytest.mark.parametrize("arch", ["rnn", "gru", "lstm"])
def test_a_seed_and_temperature_give_one_melody(trainer, arch):
    model, task, primer = trained(trainer, arch), trainer.task, data.parse_notes(PRIMER)
    first = melody.sample_melody(model, task, primer, 24, 1.0, seed=5)
    assert np.array_equal(first, melody.sample_melody(model, task, primer, 24, 1.0, seed=5))
    assert np.array_equal(first[:len(primer)], primer) and len(first) == len(primer) + 24
    assert not np.array_equal(first, melody.sample_melody(model, task, primer, 24, 1.0, seed=6))
    assert not np.array_equal(first, melody.sample_melody(model, task, primer, 24, 2.5, seed=5))


def test_a_cold_melody_is_the_full_forward_pass_argmax(trainer):
    """At the lowest temperature every drawn note is the argmax of the logits a full forward pass over the melody
    so far gives (not the sampler's step-by-step state), wherever the top two logits are not nearly tied."""
    model, task = trained(trainer, "lstm"), trainer.task
    notes = melody.sample_melody(model, task, data.parse_notes(PRIMER), 20, 0.05, seed=0)
    logits = model(torch.as_tensor(task.encode_notes(notes)).unsqueeze(0))[0].detach().numpy()
    pitches = task.pitch_count
    checked = 0
    for t in range(5, len(notes) - 1):  # logits at step t predict note t + 1
        for column, part in ((0, logits[t, :pitches]), (1, logits[t, pitches:])):
            top = np.sort(part)[-2:]
            if top[1] - top[0] > 0.5:  # p(second) / p(first) < exp(-10) at this temperature
                assert notes[t + 1, column] == int(np.argmax(part))
                checked += 1
    assert checked >= 20


def test_the_first_sampled_note_follows_the_softmax_at_the_temperature(trainer):
    model, task, primer = trained(trainer, "gru"), trainer.task, data.parse_notes("C5 B4 A4 G4")
    logits = model(torch.as_tensor(task.encode_notes(primer)).unsqueeze(0))[0, -1].detach().double()
    expected = torch.softmax(logits[:task.pitch_count] / 1.5, -1).numpy()
    draws = [melody.sample_melody(model, task, primer, 1, 1.5, seed=seed)[-1, 0] for seed in range(600)]
    observed = np.bincount(draws, minlength=task.pitch_count) / len(draws)
    assert 0.5 * np.abs(observed - expected).sum() < 0.08  # total variation; about 0.03 expected from 600 draws


@pytest.mark.parametrize("temperature, count, message", [
    (0.04, 8, "temperature must be between"), (3.01, 8, "temperature must be between"),
    (float("nan"), 8, "temperature"), (1.0, 0, "between 1 and 128 notes"), (1.0, 129, "between 1 and 128 notes"),
])
def test_sampling_limits(trainer, temperature, count, message):
    with pytest.raises(ConfigError, match=message):
        melody.sample_melody(trained(trainer, "lstm"), trainer.task, data.parse_notes(PRIMER), count, temperature)


def test_the_test_cross_entropy_is_every_test_note_scored_once(trainer):
    model, task, length = trained(trainer, "lstm"), trainer.task, trainer.config.length
    notes = stream("test")
    total, scored = 0.0, 0
    for start in range(0, len(notes) - 1, length):
        window = notes[start:start + length + 1]
        out = model(torch.as_tensor(task.encode_notes(window[:-1])).unsqueeze(0))[0].detach().double()
        pitch = torch.log_softmax(out[:, :task.pitch_count], -1).numpy()
        duration = torch.log_softmax(out[:, task.pitch_count:], -1).numpy()
        steps = np.arange(len(window) - 1)
        total -= (pitch[steps, window[1:, 0]] + duration[steps, window[1:, 1]]).sum() / math.log(2)
        scored += len(steps)
    result = melody.test_cross_entropy(model, task, length)
    assert scored == melody.scored_notes() == len(notes) - 1
    assert result.total == pytest.approx(total / scored, rel=1e-5)
    # With a silent readout every next note is uniform: log2 of each vocabulary's size, exactly.
    with torch.no_grad():
        model.readout.weight.zero_()
        model.readout.bias.zero_()
    uniform = melody.test_cross_entropy(model, task, length)
    assert uniform.pitch == pytest.approx(math.log2(task.pitch_count))
    assert uniform.duration == pytest.approx(math.log2(task.duration_count))


def test_every_trained_cell_beats_both_count_baselines(trainer):
    unigram, bigram = melody.baseline_rows()
    for arch in ("rnn", "gru", "lstm"):
        assert melody.test_cross_entropy(trained(trainer, arch), trainer.task, 32).total < bigram.total < unigram.total


def test_the_neuron_search_reports_the_units_pearson_r(trainer):
    model, task = trained(trainer, "lstm"), trainer.task
    found = melody.feature_units(model, task, trainer.probe_inputs)
    states = melody.trace(model, trainer.probe_inputs).layers[-1]["cell_state"]
    for unit in found:
        feature = np.concatenate([task.features(x.numpy())[unit.feature] for x in trainer.probe_inputs])
        values = states[:, :, unit.unit].reshape(-1)
        assert unit.correlation == pytest.approx(np.corrcoef(values, feature)[0, 1], abs=1e-6)
        every = [abs(np.corrcoef(states[:, :, u].reshape(-1), feature)[0, 1]) for u in range(states.shape[-1])]
        assert abs(unit.correlation) == pytest.approx(max(every), abs=1e-6)
    assert {u.feature for u in found} == {"phrase position", "pitch height"}
    assert abs(next(u for u in found if u.feature == "pitch height").correlation) > 0.5


def read_wav(payload: bytes) -> tuple[np.ndarray, wave.Wave_read]:
    reader = wave.open(io.BytesIO(payload))
    frames = reader.readframes(reader.getnframes())
    return np.frombuffer(frames, dtype="<i2").astype(np.float64) / 32767, reader


def fundamental(samples: np.ndarray, rate: int) -> float:
    """The strongest frequency of a Hann-windowed FFT, refined by a parabola through its three bins."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples)), n=8 * len(samples)))
    k = int(np.argmax(spectrum[1:-1])) + 1
    a, b, c = np.log(spectrum[k - 1:k + 2])
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * rate / (8 * len(samples))


def test_the_wav_lasts_the_melody_and_sounds_its_pitches():
    # A4, C5, E4 for 1, 2 and 1.5 beats at 90 per minute: 3 s in all.
    samples, reader = read_wav(audio.melody_wav([69, 72, 64], [1.0, 2.0, 1.5], tempo=90))
    assert (reader.getnchannels(), reader.getsampwidth(), reader.getframerate()) == (1, 2, audio.SAMPLE_RATE)
    assert reader.getnframes() == round(4.5 * 60 / 90 * audio.SAMPLE_RATE)
    assert np.abs(samples).max() < 1.0 and np.abs(samples).max() > 0.2
    rate, beat = audio.SAMPLE_RATE, 60 / 90 * audio.SAMPLE_RATE
    pieces = [samples[:int(beat)], samples[int(beat):int(3 * beat)], samples[int(3 * beat):]]
    for piece, expected in zip(pieces, (440.0, 523.251, 329.628)):
        assert fundamental(piece, rate) == pytest.approx(expected, abs=1.0)
    # Each note starts and ends in silence (the envelope), so notes of one pitch are heard apart.
    assert abs(samples[0]) < 1e-3 and abs(samples[int(beat) - 1]) < 0.02


@pytest.mark.parametrize("pitches, beats, tempo, message", [
    ([60] * 200, [4.0] * 200, 80, "the limit is 180 s"),
    ([60], [1.0], 10, "tempo must be between"),
    ([60, 62], [1.0], 80, "as many lengths"),
    ([60], [0.0], 80, "positive length"),
    ([60], [float("inf")], 80, "positive length"),
    ([], [], 80, "at least one note"),
])
def test_the_synthesiser_refuses_what_it_cannot_play(pitches, beats, tempo, message):
    with pytest.raises(ConfigError, match=message):
        audio.melody_wav(pitches, beats, tempo=tempo)
