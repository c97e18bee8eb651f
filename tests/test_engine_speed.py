"""Claims about time, computed from a recorded run and this server's measured speed (lstm_viz.runs.speed)."""
import pytest

from lstm_viz.runs.bundled import bundled_record, load_bundled_run, precomputed_record
from lstm_viz.runs.speed import CellRecord, RunRecord, SpeedLog, timing, timing_sentence
from lstm_viz.core.trainer import RunConfig

HEADLINE_SHAPE = RunConfig()  # adding, T = 100, B = 64, H = 64: RNN and LSTM
# Multiply-adds x 2 (FLOP) x 3 (forward and backward) per step: B x T x gate rows x (input 2 + hidden 64).
LSTM_GFLOP = 6 * 64 * 100 * (4 * 64) * (2 + 64) / 1e9
RNN_GFLOP = 6 * 64 * 100 * (1 * 64) * (2 + 64) / 1e9


def record(lstm_steps=700, rnn_steps=1000):
    return RunRecord(
        HEADLINE_SHAPE, step=max(lstm_steps, rnn_steps), elapsed=20.0,
        cells={"rnn": CellRecord("RNN (tanh)", rnn_steps, None, "baseline"),
               "lstm": CellRecord("LSTM", lstm_steps, lstm_steps, "solved")},
        clock=((0, 500, 1000), (0.0, 12.0, 20.0)),
    )


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_work_counts_each_cell_while_it_trained():
    run = record()
    assert run.work_gflop(700) == pytest.approx(700 * (LSTM_GFLOP + RNN_GFLOP))
    assert run.work_gflop() == pytest.approx(700 * LSTM_GFLOP + 1000 * RNN_GFLOP)
    assert run.verdict_step == 1000
    assert run.recorded_seconds(750) == pytest.approx(12.0 + 8.0 * 250 / 500)


def test_the_estimate_follows_the_servers_recent_speed_and_forgets_old_trainings():
    clock = FakeClock()
    speed = SpeedLog(recent_seconds=600, clock=clock)
    assert timing(record(), 700, speed).here_seconds is None
    for gflop, seconds in ((100, 10), (200, 10), (400, 10), (1, 1)):  # 10, 20, 40 GFLOP/s; the last is too short
        speed.add(gflop, seconds)
    estimate = timing(record(), 700, speed)
    assert estimate.measured_trainings == 3
    assert estimate.here_seconds == pytest.approx(700 * (LSTM_GFLOP + RNN_GFLOP) / 20)  # the median speed
    clock.now += 601
    assert speed.gflop_per_second() is None


def test_the_sentence_is_true_with_and_without_a_measured_speed():
    run = record()
    quiet = timing_sentence(run, SpeedLog())
    assert quiet.startswith("In the shipped run (seed 0) the LSTM solved it at step 700 and the run ended at step 1,000.")
    assert "took 15 s of training to the solve and 20 s to the end on the machine that recorded it (50 steps/s)" in quiet
    assert "this server has not trained lately" in quiet
    speed = SpeedLog()
    speed.add(10 * 60, 60)  # 10 GFLOP/s
    busy = timing_sentence(run, speed)
    to_solve, to_end = 700 * (LSTM_GFLOP + RNN_GFLOP) / 10, (700 * LSTM_GFLOP + 1000 * RNN_GFLOP) / 10
    assert (f"At the speed this server measured in its last training, training it live takes about "
            f"{to_solve:.0f} s to that solve and {to_end:.0f} s to the end.") in busy


def test_a_shipped_run_reads_light_with_the_numbers_of_the_restored_run():
    light = bundled_record("preset-vanishing-gradients")
    assert precomputed_record("vanishing-gradients") == light
    assert precomputed_record("three-cells") is None  # not shipped
    full = load_bundled_run("preset-vanishing-gradients")
    assert light == RunRecord.of(full)
    assert light.verdict_step == max(run.steps[-1] for run in full.runs.values())
    lstm = full.runs["lstm"]
    # The clock is the longest-evaluated cell's (the RNN's): cells are evaluated one after the other in a step, so
    # their clocks differ by one evaluation, a few tens of milliseconds.
    solved_at = lstm.eval_elapsed[lstm.eval_steps.index(lstm.solved_step)]
    assert light.recorded_seconds(lstm.solved_step) == pytest.approx(solved_at, abs=0.1)
