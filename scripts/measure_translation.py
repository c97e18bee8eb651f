"""Measure the shipped translation models (assets/runs/translation/) on this machine, one torch thread, and write
assets/runs/translation/measurements.json: test exact match, token accuracy and BLEU with and without attention,
dates by input length on the test split and on longer inputs than training saw (4-8 filler phrases a side, test
days only), how often the month's attention peaks on the source month, and a narrow pair (16 units) trained here
to see whether a fixed vector that small shows the bottleneck. The load average is recorded before and after.

    nice python scripts/measure_translation.py
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lstm_viz.core.seq2seq.files import SHIPPED_DIR, load_translation_model  # noqa: E402
from lstm_viz.core.seq2seq.metrics import (  # noqa: E402
    attention_peak_rate, by_source_length, evaluate, score, translate_examples,
)
from lstm_viz.core.seq2seq.training import TranslationTrainer, TranslationTrainingConfig  # noqa: E402
from lstm_viz.core.tasks import dates, get_translation_task  # noqa: E402

LONG_EDGES = (13, 21, 29, 37, 45, 53)
NARROW = dict(task="dates", embedding_size=16, hidden_size=16, steps=3000)


def long_dates() -> list:
    return dates.generate_examples(dates.split_days()[1], 1000, seed=3, phrases=(4, 8))


def dates_scores(model, task, examples) -> dict:
    hypotheses = translate_examples(model, task, examples)
    return {"overall": score(hypotheses, [e.target_tokens for e in examples]).to_dict(),
            "by_source_length": by_source_length(examples, hypotheses, LONG_EDGES)}


def main() -> int:
    torch.set_num_threads(1)
    report = {"torch_threads": 1, "load_average_before": list(os.getloadavg()), "shipped": {}, "narrow": {}}
    started = time.perf_counter()
    longer = long_dates()
    for task_name in ("eng-fra", "dates"):
        task = get_translation_task(task_name)
        for attention in (True, False):
            model, _ = load_translation_model(SHIPPED_DIR, task_name, attention)
            entry = evaluate(model, task)
            if task_name == "dates":
                entry["longer_inputs"] = dates_scores(model, task, longer)
                if attention:
                    entry["month_attention_peak_rate"] = attention_peak_rate(model, task)
            report["shipped"][f"{task_name}-{'attention' if attention else 'plain'}"] = entry
    task = get_translation_task("dates")
    for attention in (True, False):
        trainer = TranslationTrainer(TranslationTrainingConfig(**NARROW, attention=attention))
        trainer.run()
        entry = {"config": trainer.config.to_dict(), **evaluate(trainer.model, task),
                 "longer_inputs": dates_scores(trainer.model, task, longer)}
        report["narrow"]["attention" if attention else "plain"] = entry
    report["seconds"] = time.perf_counter() - started
    report["load_average_after"] = list(os.getloadavg())
    (SHIPPED_DIR / "measurements.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in report.items() if k not in ("shipped", "narrow")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
