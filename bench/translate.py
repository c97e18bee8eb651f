"""The Translate page's worst case: both shipped models of each task read the longest sentence the page accepts
(the task's max_source_tokens) with the widest beam (BEAM_WIDTH_RANGE's top), as the page does for every new
sentence (greedy, beam, the gates of encoder and decoder). Once as the models answer, once with the <eos> logit
pushed down so that greedy and every hypothesis write max_target_tokens tokens: the bound of the decoding loop.
One torch thread; run it quiet and with `python -c 'while True: pass' &` keeping a core busy.

Usage: python bench/translate.py [--repeats 5]. Target: < 1 s for both models at the bound.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a plain script from any folder

import torch  # noqa: E402

from lstm_viz.core.seq2seq.files import SHIPPED_DIR, load_translation_model  # noqa: E402
from lstm_viz.core.seq2seq.reading import read_sentence  # noqa: E402
from lstm_viz.core.tasks import TRANSLATION_TASKS  # noqa: E402
from lstm_viz.data.translation_pairs import EOS_ID  # noqa: E402
from lstm_viz.rules.ranges import BEAM_WIDTH_RANGE  # noqa: E402

# Known words, repeated to the task's limit.
WORDS = {"dates": ["we", "met", "on", "the", "3", "of", "march", "2021", "at", "noon"], "eng-fra": ["i", "am", "cold", "."]}


def seconds(models, task, text: str, beam: int, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        for model in models:
            read_sentence(model, task, text, beam)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    repeats = parser.parse_args().repeats
    torch.set_num_threads(1)
    beam = BEAM_WIDTH_RANGE[1]
    report = {"load_average_before": os.getloadavg(), "beam_width": beam, "tasks": {}}
    for name, task in TRANSLATION_TASKS.items():
        text = " ".join((WORDS[name] * task.max_source_tokens)[:task.max_source_tokens])
        models = [load_translation_model(SHIPPED_DIR, name, attention)[0] for attention in (True, False)]
        seconds(models, task, text, beam, 1)  # warm
        answered = seconds(models, task, text, beam, repeats)
        with torch.no_grad():
            for model in models:
                model.readout.bias[EOS_ID] = -1e9  # never ends: the decoding loop's bound
        bound = seconds(models, task, text, beam, repeats)
        report["tasks"][name] = {
            "source_tokens": task.max_source_tokens, "characters": len(text), "max_target_tokens": task.max_target_tokens,
            "both_models_ms": {"median": 1000 * statistics.median(answered), "max": 1000 * max(answered)},
            "both_models_at_the_bound_ms": {"median": 1000 * statistics.median(bound), "max": 1000 * max(bound)},
        }
    report["load_average_after"] = os.getloadavg()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
