"""English to French on 5,000 short Tatoeba sentence pairs (assets/data/tatoeba-eng-fra-5000.tsv, CC BY 2.0 FR).

A tenth of the distinct English sentences, with every French translation of each, are held out for testing
(lstm_viz.data.translation_pairs.split_by_source). The baseline answers every sentence with the French sentence
most often seen in training: what a model that ignores its input can do best on exact match.
"""
from __future__ import annotations

import functools
from collections import Counter

from lstm_viz.data.translation_pairs import read_pairs, sentence_tokens, split_by_source
from lstm_viz.core.tasks.translation_base import TranslationExample, TranslationTask

TEST_FRACTION = 0.1
SPLIT_SEED = 0


class EnglishFrenchTask(TranslationTask):
    name = "eng-fra"
    label = "English to French (Tatoeba)"
    description = ("Translate short English sentences (1-5 words) into French; 5,000 pairs from Tatoeba, "
                   "split by English sentence so no test sentence is seen in training.")
    baseline_name = "most frequent translation"
    baseline_description = "answer every sentence with the French sentence most frequent in training"
    max_source_tokens = 30
    max_target_tokens = 20
    example_inputs = ("I am cold.", "We won.", "Go away!", "He is tall.", "I like cats.")
    min_word_count = 2
    length_edges = (1, 3, 4, 5, 6)

    def tokenize(self, text: str) -> list[str]:
        return sentence_tokens(text)

    def _build_examples(self) -> dict[str, list[TranslationExample]]:
        train, test = split_by_source(read_pairs(), TEST_FRACTION, SPLIT_SEED)
        return {split: [TranslationExample(p.source, tuple(sentence_tokens(p.source)), tuple(sentence_tokens(p.target)))
                        for p in pairs] for split, pairs in (("train", train), ("test", test))}

    def baseline_translation(self, example: TranslationExample) -> tuple[str, ...]:
        return self._most_frequent_target

    @functools.cached_property
    def _most_frequent_target(self) -> tuple[str, ...]:
        counts = Counter(e.target_tokens for e in self.examples("train"))
        return max(counts, key=lambda tokens: (counts[tokens], tokens))


ENGLISH_FRENCH = EnglishFrenchTask()
