"""When a run's verdict is known (lstm_viz.core.stopping): the stop rule on constructed histories, the verdict's words,
and one real run that ends early (and trains on with train_to_budget)."""
import math
from dataclasses import replace

import pytest

from lstm_viz.core import stopping
from lstm_viz.core.stopping import has_plateaued, made_progress, plain_cells_to_stop, sits_at_baseline
from lstm_viz.core.trainer import RunConfig, Trainer
from tests.engine_support import one_torch_thread  # noqa: F401

BASELINE, FLOOR = 1 / 6, 0.0  # the adding problem's
AT_INIT = 1.14  # a typical test MSE at initialisation, far worse than the baseline


def noisy(level, count, spread=0.01):
    """`count` evaluations hovering around `level`, never below it: a deterministic zig-zag like a test metric's."""
    return [level + spread * ((i * 7) % 5) / 4 for i in range(count)]


def cells(**described):
    """{name: (gated, active, steps, metrics)} -> the dicts plain_cells_to_stop reads."""
    return {name: {"gated": gated, "active": active, "steps": steps, "metrics": metrics}
            for name, (gated, active, steps, metrics) in described.items()}


RNN_AT_BASELINE = [AT_INIT, *noisy(0.181, 28)]  # evaluated every 25 steps up to step 700, hovering at 0.18-0.19


# ----- the pure rule -----

def test_the_rnn_stops_when_the_lstm_solved_and_it_sits_at_the_baseline():
    run = cells(rnn=(False, True, 700, RNN_AT_BASELINE), lstm=(True, False, 700, [AT_INIT, *noisy(0.18, 27), 0.008]))
    assert plain_cells_to_stop(run, BASELINE, FLOOR) == (["rnn"], ["lstm"])


def test_nothing_stops_while_a_gated_cell_still_trains():
    run = cells(rnn=(False, True, 700, RNN_AT_BASELINE), lstm=(True, True, 700, [AT_INIT, *noisy(0.18, 28)]))
    assert plain_cells_to_stop(run, BASELINE, FLOOR) == ([], [])


def test_an_rnn_improving_below_the_baseline_keeps_going():
    improving = [AT_INIT, *noisy(0.18, 20), 0.16, 0.15, 0.14, 0.13, 0.12, 0.11, 0.10, 0.09]  # below, and still going
    run = cells(rnn=(False, True, 700, improving), lstm=(True, False, 700, [AT_INIT, 0.008]))
    assert plain_cells_to_stop(run, BASELINE, FLOOR) == ([], ["lstm"])
    assert not sits_at_baseline(improving, BASELINE, FLOOR)


def test_an_rnn_still_coming_down_to_the_baseline_keeps_going():
    coming_down = [AT_INIT, 0.6, 0.4, 0.3, 0.25, 0.22, 0.20, 0.19]  # worse than the baseline, but every step better
    assert not sits_at_baseline(coming_down, BASELINE, FLOOR)
    # Once it has flattened out for RECENT_EVALUATIONS evaluations it sits there.
    assert sits_at_baseline([*coming_down, 0.19, 0.192, 0.191, 0.195], BASELINE, FLOOR)


def test_one_evaluation_off_the_baseline_means_not_yet():
    dipped = [*RNN_AT_BASELINE[:-1], 0.14]  # position 0.84: a tenth of the way to the floor
    assert not sits_at_baseline(dipped, BASELINE, FLOOR)
    assert not sits_at_baseline([AT_INIT, 0.18, 0.18], BASELINE, FLOOR)  # too few evaluations to say


def test_a_plateaued_gru_and_a_solved_lstm_decide_when_the_last_of_them_ends():
    gru = [AT_INIT, 0.10, 0.07, *noisy(0.05, 21, spread=0.001)]  # learned: 0.05, then 20 evaluations no better
    assert has_plateaued(gru, BASELINE, FLOOR)
    assert not has_plateaued(gru[:-1], BASELINE, FLOOR)  # 19 of them: not yet
    lstm = [AT_INIT, *noisy(0.18, 27), 0.008]
    # The GRU ended at step 625, the LSTM at 700: the RNN waits for the LSTM, and the verdict names it.
    run = cells(rnn=(False, True, 700, RNN_AT_BASELINE), gru=(True, False, 625, gru), lstm=(True, False, 700, lstm))
    assert plain_cells_to_stop(run, BASELINE, FLOOR) == (["rnn"], ["lstm"])
    # The GRU plateaued last (step 900): before the RNN has trained as long, it keeps going.
    run = cells(rnn=(False, True, 875, RNN_AT_BASELINE), gru=(True, False, 900, gru), lstm=(True, False, 700, lstm))
    assert plain_cells_to_stop(run, BASELINE, FLOOR) == ([], ["gru"])
    run["rnn"]["steps"] = 900
    assert plain_cells_to_stop(run, BASELINE, FLOOR) == (["rnn"], ["gru"])


def test_a_diverged_lstm_ends_its_part_too():
    run = cells(rnn=(False, True, 150, [AT_INIT, *noisy(0.181, 6)]), lstm=(True, False, 130, [AT_INIT, math.nan]))
    assert plain_cells_to_stop(run, BASELINE, FLOOR) == (["rnn"], ["lstm"])


def test_runs_without_a_gated_cell_or_without_an_rnn_have_nothing_to_wait_for():
    assert plain_cells_to_stop(cells(rnn=(False, True, 700, RNN_AT_BASELINE)), BASELINE, FLOOR) == ([], [])
    assert plain_cells_to_stop(cells(lstm=(True, False, 700, [AT_INIT, 0.008])), BASELINE, FLOOR) == ([], ["lstm"])


def test_a_cell_on_or_just_below_the_baseline_never_plateaus():
    # The forget-bias demo's LSTM sits on the baseline for 1700 steps before it solves at 1775.
    assert not has_plateaued([AT_INIT, *noisy(0.172, 70)], BASELINE, FLOOR)
    assert not has_plateaued([AT_INIT, *noisy(0.150, 70, spread=0.001)], BASELINE, FLOOR)  # 90% of the baseline
    slowly = [AT_INIT, *[0.08 - 0.001 * i for i in range(40)]]  # learned, still improving 0.6% of the way each time
    assert not has_plateaued(slowly, BASELINE, FLOOR)


def test_positions_are_measured_from_the_floor_for_a_task_whose_floor_is_not_zero():
    baseline, floor = 3.2, 2.9  # e.g. the bracket language: its own entropy is far above 0
    assert stopping.position(3.2, baseline, floor) == pytest.approx(1.0)
    assert sits_at_baseline([3.6, 3.2, 3.21, 3.205, 3.2, 3.201], baseline, floor)
    assert not sits_at_baseline([3.6, 3.2, 3.21, 3.205, 3.2, 3.1], baseline, floor)  # a third of the way down
    assert made_progress([3.6, 3.2, 3.19], 1, baseline, floor) is True  # 0.01 is 3.3% of the way
    assert made_progress([3.6, 3.2, 3.199], 1, baseline, floor) is False  # 0.3%: noise


# ----- the trainer's words for it, on constructed histories -----

@pytest.fixture
def headline_trainer():
    """A Trainer of the headline's shape whose histories the tests write (nothing is trained)."""
    config = RunConfig(archs=("rnn", "gru", "lstm"), hidden_size=8, eval_size=8, probe_size=2, trace_examples=1)
    return Trainer(config, measure_initial_state=False)


def fill(trainer, arch, metrics, status="training", solved_step=None):
    run = trainer.runs[arch]
    run.eval_steps = [25 * i for i in range(len(metrics))]
    run.eval_metric = list(metrics)
    run.steps = list(range(1, run.eval_steps[-1] + 1))
    run.status, run.solved_step = status, solved_step
    return run


def test_a_transformer_at_the_baseline_is_waited_for_like_a_gated_cell_not_stopped_like_the_rnn():
    config = RunConfig(archs=("rnn", "lstm", "transformer"), hidden_size=8, eval_size=8, probe_size=2, trace_examples=1)
    trainer = Trainer(config, measure_initial_state=False)
    trainer.step = 700
    fill(trainer, "rnn", RNN_AT_BASELINE)
    fill(trainer, "transformer", RNN_AT_BASELINE)
    fill(trainer, "lstm", [AT_INIT, *noisy(0.18, 27), 0.008], status="solved", solved_step=700)
    trainer._stop_cells_whose_verdict_is_known()
    # Still training, the Transformer's part of the comparison is open: the RNN waits with it.
    assert trainer.runs["transformer"].active and trainer.runs["rnn"].active
    trainer.runs["transformer"].status = "plateaued"
    trainer._stop_cells_whose_verdict_is_known()
    assert trainer.runs["rnn"].status == "baseline" and trainer.runs["transformer"].status == "plateaued"


def test_the_verdict_says_why_the_rnn_stopped_in_the_users_terms(headline_trainer):
    trainer = headline_trainer
    trainer.step = 700
    fill(trainer, "rnn", RNN_AT_BASELINE)
    fill(trainer, "gru", [AT_INIT, 0.10, 0.002], status="solved", solved_step=50).status_detail = "solved at step 50"
    fill(trainer, "lstm", [AT_INIT, *noisy(0.18, 27), 0.008], status="solved", solved_step=700)
    trainer._stop_cells_whose_verdict_is_known()
    rnn = trainer.runs["rnn"]
    assert rnn.status == "baseline" and not rnn.active
    last = RNN_AT_BASELINE[-1]
    assert trainer.verdict() == (
        "GRU solved T=100 at step 50 (MSE 0.002). LSTM solved T=100 at step 700 (MSE 0.008). "
        f"RNN (tanh) stopped at step 700: still at the no-memory baseline (test MSE {last:.3f}; baseline 0.167) "
        "when the LSTM solved."
    )


def test_a_later_stop_says_how_long_after_and_names_every_cell_that_ended_then(headline_trainer):
    trainer = headline_trainer
    trainer.step = 800
    fill(trainer, "rnn", [AT_INIT, *noisy(0.181, 32)])
    for arch in ("gru", "lstm"):
        fill(trainer, arch, [AT_INIT, *noisy(0.18, 27), 0.008], status="solved", solved_step=700)
    trainer._stop_cells_whose_verdict_is_known()
    assert trainer.runs["rnn"].status_detail.endswith("100 steps after the GRU and the LSTM solved (step 700)")


def test_an_rnn_still_improving_is_left_training(headline_trainer):
    trainer = headline_trainer
    trainer.step = 700
    fill(trainer, "rnn", [AT_INIT, *noisy(0.18, 20), 0.16, 0.15, 0.14, 0.13, 0.12, 0.11, 0.10, 0.09])
    for arch in ("gru", "lstm"):
        fill(trainer, arch, [AT_INIT, *noisy(0.18, 27), 0.008], status="solved", solved_step=700)
    trainer._stop_cells_whose_verdict_is_known()
    assert trainer.runs["rnn"].active and not trainer.finished


def test_budget_and_plateau_endings_say_so(headline_trainer):
    trainer = headline_trainer
    trainer.step = 1500
    fill(trainer, "rnn", [AT_INIT, 0.17]).status = "budget"
    trainer.runs["rnn"].steps = list(range(1, 1501))
    fill(trainer, "gru", [AT_INIT, 0.05], status="plateaued").status_detail = "stopped at step 900: no progress in its last 500 steps"
    fill(trainer, "lstm", [AT_INIT, 0.40], status="diverged").status_detail = "loss became NaN at step 30"
    assert trainer.verdict() == (
        "RNN (tanh) trained the whole budget of 1,500 steps and stayed at 0.170, the no-memory baseline. "
        "GRU reached 0.050 (30% of the no-memory baseline 0.167) without solving it; it stopped at step 900: no "
        "progress in its last 500 steps. LSTM diverged: loss became NaN at step 30."
    )


# ----- a real run -----

# Small enough to train in seconds: the LSTM solves T = 30 at step 975 (measured), the RNN stays on the baseline.
SMALL_HEADLINE = RunConfig(task="adding", length=30, archs=("rnn", "lstm"), hidden_size=8, batch_size=16,
                           max_steps=1500, eval_size=64, probe_every=500, probe_size=2, trace_examples=1)


def train(config):
    trainer = Trainer(config)
    while not trainer.finished:
        trainer.train_step()
    return trainer


@pytest.fixture(scope="module")
def ended_at_verdict():
    return train(SMALL_HEADLINE)


def test_a_real_run_ends_when_the_lstm_solves_and_the_rnn_sits_at_the_baseline(ended_at_verdict):
    trainer = ended_at_verdict
    lstm, rnn = trainer.runs["lstm"], trainer.runs["rnn"]
    assert lstm.status == "solved" and lstm.solved_step < SMALL_HEADLINE.max_steps
    assert trainer.step == lstm.solved_step == rnn.steps[-1] == rnn.eval_steps[-1]
    assert rnn.status == "baseline"
    # At the baseline or worse in each of the last 4 evaluations (100 steps), the rule's window.
    assert all(metric >= 0.9 * trainer.baseline for metric in rnn.eval_metric[-4:])
    assert f"RNN (tanh) stopped at step {lstm.solved_step}: still at the no-memory baseline" in trainer.verdict()
    assert "when the LSTM solved." in trainer.verdict()
    assert rnn.checkpoints[-1].step == trainer.step  # a final checkpoint, as at any other ending


def test_train_to_budget_trains_the_rnn_on_along_the_same_path(ended_at_verdict):
    stopped = ended_at_verdict.runs["rnn"]
    budget = stopped.steps[-1] + 50
    trainer = train(replace(SMALL_HEADLINE, train_to_budget=True, max_steps=budget))
    rnn = trainer.runs["rnn"]
    assert rnn.status == "budget" and rnn.steps[-1] == trainer.step == budget
    assert rnn.eval_metric[:len(stopped.eval_metric)] == stopped.eval_metric
    assert f"RNN (tanh) trained the whole budget of {budget:,} steps" in trainer.verdict()
