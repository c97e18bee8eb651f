"""The copy-memory preset delivers what its blurb promises, on seed 0 (the shipped run) and seeds 1 and 2 (trained by
scripts/precompute_runs.py with the same settings, their final metrics in the run's seeds.json)."""
import math

import pytest

from lstm_viz.runs.bundled import CHECKED_SEEDS, load_bundled_run, load_seed_summaries, seed_summary
from lstm_viz.runs.presets import PRESETS, preset_config
from lstm_viz.core.trainer import RunConfig

RUN = "preset-copy-memory"
# The blurb's promise, as it words it: the LSTM ends below this share of the no-memory baseline, the RNN on it.
PROMISED_LSTM_SHARE = 0.80
PROMISE = "below 80% of the no-memory baseline"
# Copy memory with T = 20: ten symbols of eight, guessed uniformly over 40 steps (Arjovsky et al. 2016).
BASELINE = 10 * math.log(8) / (20 + 20)


def summaries() -> dict[int, dict]:
    return {0: seed_summary(load_bundled_run(RUN)), **load_seed_summaries(RUN)}


def test_the_blurb_states_the_promise_checked_here():
    description = PRESETS["copy-memory"].description
    assert PROMISE in description and "RNN stays on it" in description


def test_seeds_0_to_2_were_trained_with_the_preset_s_current_settings():
    measured = summaries()
    assert set(measured) >= {0, 1, 2} and set(CHECKED_SEEDS[RUN]) == set(measured) - {0}
    for seed, summary in measured.items():
        assert RunConfig.from_dict(summary["config"]) == preset_config("copy-memory", seed=seed), (
            f"seed {seed} is stale: run `python scripts/precompute_runs.py {RUN}`")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_lstm_beats_the_baseline_as_promised_and_the_rnn_stays_on_it(seed):
    summary = summaries()[seed]
    assert summary["baseline"] == pytest.approx(BASELINE)
    lstm, rnn = summary["final"]["lstm"], summary["final"]["rnn"]
    assert lstm < PROMISED_LSTM_SHARE * BASELINE, f"seed {seed}: the LSTM ended at {lstm / BASELINE:.0%}"
    assert rnn >= 0.9 * BASELINE
    # The verdict says the same in words: the LSTM got somewhere, the RNN stayed.
    assert f"reached {lstm:.3f}" in summary["verdict"] and "stayed at" in summary["verdict"].split("LSTM")[0]
