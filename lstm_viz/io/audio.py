"""A melody as a WAV file, synthesised in NumPy: each note a sum of harmonics under an attack-decay-release
envelope, 16-bit mono PCM written by the standard library's `wave` into bytes (the Music page hands them to
st.audio). No synthesiser, no sound font, nothing fetched.
"""
from __future__ import annotations

import io
import wave
from typing import Sequence

import numpy as np

from lstm_viz.rules.errors import ConfigError

SAMPLE_RATE = 22_050
DEFAULT_TEMPO = 80  # quarter notes per minute: a chorale's walking pace
TEMPO_RANGE = (30, 240)
MAX_SECONDS = 180.0
# Relative amplitudes of harmonics 1, 2, 3, 4: a soft, organ-like tone whose fundamental is the strongest partial,
# so an FFT's peak (and a listener) finds the written pitch.
HARMONICS = (1.0, 0.45, 0.25, 0.12)
ATTACK_SECONDS = 0.015
RELEASE_SECONDS = 0.06
PEAK = 0.6  # of full scale: headroom for the harmonics' sum


def frequency(midi: float) -> float:
    """Equal temperament, A4 (MIDI 69) = 440 Hz."""
    return 440.0 * 2.0 ** ((midi - 69) / 12)


def envelope(samples: int, rate: int = SAMPLE_RATE) -> np.ndarray:
    """Linear attack, a gentle exponential decay, and a linear release to silence at the note's end, so consecutive
    notes of one pitch are heard as two."""
    t = np.arange(samples) / rate
    shape = np.exp(-1.2 * t)
    attack = max(1, min(samples // 4, int(ATTACK_SECONDS * rate)))
    release = max(1, min(samples // 3, int(RELEASE_SECONDS * rate)))
    shape[:attack] *= np.linspace(0.0, 1.0, attack, endpoint=False)
    shape[-release:] *= np.linspace(1.0, 0.0, release)
    return shape


def melody_samples(pitches: Sequence[float], beats: Sequence[float], tempo: float = DEFAULT_TEMPO,
                   rate: int = SAMPLE_RATE) -> np.ndarray:
    """float64 samples in [-1, 1] of the melody: note k sounds pitch `pitches[k]` (MIDI) for `beats[k]` quarter
    notes at `tempo` quarter notes per minute."""
    pitches = np.asarray(pitches, dtype=np.float64)
    beats = np.asarray(beats, dtype=np.float64)
    if pitches.shape != beats.shape or pitches.ndim != 1 or len(pitches) == 0:
        raise ConfigError("a melody needs as many lengths as pitches, at least one note")
    if not (TEMPO_RANGE[0] <= tempo <= TEMPO_RANGE[1]):
        raise ConfigError(f"tempo must be between {TEMPO_RANGE[0]} and {TEMPO_RANGE[1]} beats per minute (got {tempo})")
    if not np.all(np.isfinite(beats)) or np.any(beats <= 0) or not np.all(np.isfinite(pitches)):
        raise ConfigError("every note needs a finite pitch and a positive length")
    seconds = float(beats.sum()) * 60.0 / tempo
    if seconds > MAX_SECONDS:
        raise ConfigError(f"the melody lasts {seconds:.0f} s at {tempo:g} beats per minute; the limit is {MAX_SECONDS:.0f} s")
    # Note boundaries rounded once from the running onset, so the total is exact and no rounding accumulates.
    edges = np.rint(np.concatenate([[0.0], np.cumsum(beats)]) * 60.0 / tempo * rate).astype(np.int64)
    out = np.zeros(int(edges[-1]))
    for midi, start, end in zip(pitches, edges[:-1], edges[1:]):
        t = np.arange(end - start) / rate
        f0 = frequency(midi)
        tone = sum(a * np.sin(2 * np.pi * k * f0 * t) for k, a in enumerate(HARMONICS, start=1) if k * f0 < rate / 2)
        out[start:end] = tone * envelope(end - start, rate)
    return out * (PEAK / sum(HARMONICS))


def wav_bytes(samples: np.ndarray, rate: int = SAMPLE_RATE) -> bytes:
    """16-bit mono PCM WAV of samples in [-1, 1] (clipped)."""
    pcm = np.clip(np.asarray(samples, dtype=np.float64), -1.0, 1.0)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes((pcm * 32767).astype("<i2").tobytes())
    return buffer.getvalue()


def melody_wav(pitches: Sequence[float], beats: Sequence[float], tempo: float = DEFAULT_TEMPO) -> bytes:
    return wav_bytes(melody_samples(pitches, beats, tempo))
