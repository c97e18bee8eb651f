"""One typed sentence through a trained encoder-decoder, everything the Translate page shows about it: the greedy and
the beam translation, the attention of the greedy one, every gate per token of encoder and decoder, and the final
encoder state (all a decoder without attention gets)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstm_viz.data.translation_pairs import EOS, EOS_ID
from lstm_viz.core.seq2seq.decoding import beam, greedy
from lstm_viz.core.seq2seq.gates import translation_gates
from lstm_viz.core.seq2seq.model import Seq2Seq
from lstm_viz.core.tasks.translation_base import TranslationTask


# eq=False: compared and hashed by identity (its arrays have no single truth value), so the page can key the figures
# it shares between sessions by the reading object.
@dataclass(frozen=True, eq=False)
class SentenceReading:
    source_tokens: list[str]
    unknown: list[int]  # positions of source tokens outside the training vocabulary (read as <unk>)
    greedy_tokens: list[str]
    beam_tokens: list[str]
    greedy_log_probability: float
    beam_log_probability: float
    finished: bool  # the greedy translation ended with <eos> before the length limit
    decoder_steps: list[str]  # the token written at each decoder step (the greedy tokens, then <eos>)
    decoder_inputs: list[str]  # the token fed at each decoder step (<bos>, then the greedy tokens)
    attention: np.ndarray | None  # (decoder steps, source tokens), or None without attention
    encoder_gates: dict[str, np.ndarray]  # name -> (source tokens, H)
    decoder_gates: dict[str, np.ndarray]  # name -> (decoder steps, H)
    final_state: dict[str, np.ndarray]  # name -> (H,): the encoder's state after the last source token


def read_sentence(model: Seq2Seq, task: TranslationTask, text: str, beam_width: int) -> SentenceReading:
    """Raises UploadError (empty, too long, only unknown words) with a message for the page."""
    source_ids, tokens, unknown = task.encode_typed(text)
    target_vocabulary = task.vocabularies[1]
    first = greedy(model, source_ids, task.max_target_tokens)
    best = beam(model, source_ids, beam_width, task.max_target_tokens)
    written = first.tokens + ([EOS_ID] if first.finished else [])
    encoder, decoder = translation_gates(model, source_ids, written)
    greedy_words = target_vocabulary.decode(first.tokens)
    steps = greedy_words + ([EOS] if first.finished else [])
    return SentenceReading(
        source_tokens=tokens, unknown=unknown, greedy_tokens=greedy_words,
        beam_tokens=target_vocabulary.decode(best.tokens), greedy_log_probability=first.log_probability,
        beam_log_probability=best.log_probability, finished=first.finished, decoder_steps=steps,
        decoder_inputs=["<bos>", *greedy_words][:len(steps)],
        attention=None if first.attention is None else first.attention.numpy(),
        encoder_gates=encoder, decoder_gates=decoder,
        final_state={name: values[-1] for name, values in encoder.items() if name in ("hidden_state", "cell_state")},
    )
