"""The best-practice lab's consistent lengths, tuning and stacking at the engine: packing against a manual per-length
loop, the gates recomputed against the fused cell, the data, the grid through the scheduler with cancel and the
per-server cache, parameter counts by formula, and every takeaway on constructed results (including the cases where
the practice did not help). Tiny models: the whole file runs in seconds."""
import math
import threading
from dataclasses import replace

import pytest
import torch

from lstm_viz.practices import lengths, stacking, step_timing, tuning
from lstm_viz.practices.grid_points import point_run_config
from lstm_viz.practices.experiment_thread import BackgroundExperiment, ExperimentSnapshot, SharedExperiments, Update
from lstm_viz.practices.length_gates import lstm_steps
from lstm_viz.rules.errors import ConfigError
from lstm_viz.runs.scheduler import Scheduler
from lstm_viz.runs.sweep import PointCache, SweepRow
from tests.engine_support import one_torch_thread, wait_until  # noqa: F401 - one_torch_thread: autouse fixture

@pytest.fixture(autouse=True)
def fresh_timings():
    step_timing.TIMINGS.clear()  # per process: a test that expects a timing job must not find one cached
    yield
    step_timing.TIMINGS.clear()


TINY_TUNING = tuning.TuningConfig(length=10, learning_rates=(1e-2,), hidden_sizes=(8, 16), batch_sizes=(16,),
                                  steps_per_point=5)


# ----- consistent lengths -----
@pytest.mark.parametrize("arch", ["lstm", "gru", "rnn"])
def test_packing_gives_each_sequence_s_own_length_result_as_a_manual_per_length_loop(arch):
    torch.manual_seed(1)
    model = lengths.LengthsModel(arch, hidden_size=7)
    inputs, true_lengths, _ = lengths.variable_adding(9, 3, 12, torch.Generator().manual_seed(2))
    hidden, cell = model.final_state(inputs, true_lengths)
    outputs = model(inputs, true_lengths)
    for index, length in enumerate(true_lengths.tolist()):
        # The sequence alone, cut at its own length: no padding anywhere.
        _, state = model.recurrent(inputs[index:index + 1, :length])
        alone_hidden, alone_cell = state if isinstance(state, tuple) else (state, None)
        assert torch.allclose(hidden[index], alone_hidden[-1, 0], atol=1e-6, rtol=0)
        if arch == "lstm":
            assert torch.allclose(cell[index], alone_cell[-1, 0], atol=1e-6, rtol=0)
        assert torch.allclose(outputs[index], model.readout(alone_hidden[-1, 0]), atol=1e-6, rtol=0)
    # Without the lengths the model reads the padding: the short sequences end elsewhere.
    unpacked, _ = model.final_state(inputs, None)
    short = true_lengths < 12
    assert (unpacked[short] - hidden[short]).abs().max() > 1e-3


def test_the_gates_read_step_by_step_match_the_fused_lstm():
    torch.manual_seed(3)
    lstm = torch.nn.LSTM(2, 5, batch_first=True)
    sequence = torch.rand(11, 2)
    steps = lstm_steps(lstm, sequence)
    hidden, (_, cell) = lstm(sequence.unsqueeze(0))
    assert torch.allclose(steps["hidden_state"], hidden[0], atol=1e-6)
    assert torch.allclose(steps["cell_state"][-1], cell[0, 0], atol=1e-6)
    for name in ("input_gate", "forget_gate", "output_gate"):
        assert steps[name].shape == (11, 5) and 0 < steps[name].min() and steps[name].max() < 1


def test_variable_adding_pads_with_zeros_and_marks_one_value_in_each_half_of_the_true_length():
    inputs, true_lengths, targets = lengths.variable_adding(200, 4, 30, torch.Generator().manual_seed(5))
    assert inputs.shape == (200, 30, 2) and true_lengths.min() >= 4 and true_lengths.max() <= 30
    assert len(set(true_lengths.tolist())) > 10
    for row in range(200):
        length = int(true_lengths[row])
        assert inputs[row, length:].abs().sum() == 0
        marked = inputs[row, :length, 1].nonzero().flatten().tolist()
        assert len(marked) == 2 and marked[0] < length // 2 <= marked[1]
        expected = float(inputs[row, marked[0], 0] + inputs[row, marked[1], 0])
        assert float(targets[row, 0]) == pytest.approx(expected)


def test_the_three_variants_start_from_identical_weights_and_read_what_they_should():
    models = lengths.build_models(lengths.LengthsConfig(hidden_size=6))
    weights = [torch.cat([p.flatten() for p in model.parameters()]) for model in models.values()]
    assert all(torch.equal(weights[0], other) for other in weights[1:])
    inputs, true_lengths, _ = lengths.variable_adding(4, 5, 20, torch.Generator().manual_seed(0))
    cut_inputs, cut_lengths = lengths.variant_inputs("truncated", inputs, true_lengths, 8)
    assert cut_inputs.shape[1] == 8 and cut_lengths.max() <= 8
    assert lengths.variant_inputs("padded", inputs, true_lengths, 8)[1] is None


def test_bad_length_settings_are_refused_with_a_message():
    for bad in (dict(min_length=30, max_length=20), dict(truncate_to=60), dict(arch="transformer"),
                dict(max_length=10_000), dict(steps=0)):
        with pytest.raises(ConfigError):
            lengths.LengthsConfig(**bad).validate()


def run_to_end(generator):
    last = None
    for last in generator:
        pass
    return last


def test_the_lengths_experiment_is_one_scheduler_job_and_a_second_ask_comes_from_the_cache():
    config = lengths.LengthsConfig(min_length=3, max_length=8, truncate_to=4, hidden_size=4, batch_size=8, steps=3)
    scheduler, cache = Scheduler(capacity=1), lengths.ResultCache()
    result = run_to_end(lengths.iter_lengths(config, lambda: False, scheduler, "me", cache)).partial
    assert [ticket.kind for ticket in scheduler.admissions] == [lengths.LENGTHS_KIND]
    assert set(result.metrics) == set(lengths.VARIANTS) and all(math.isfinite(v) for v in result.metrics.values())
    assert result.trace["length"] == 3 and len(result.trace["padded"]["forget_gate"]) == 8
    assert len(result.trace["packed"]["forget_gate"]) == 3
    padding_forget = result.trace["padded"]["forget_gate"][3:]
    assert result.trace["padding_forget"] == pytest.approx(sum(padding_forget) / 5)
    assert 0 < result.trace["padding_retained"] < 1
    first, second = result.trace["marked_steps"]  # counted from 1, both inside the true length of 3
    assert 1 <= first <= 1 < second <= 3
    again = run_to_end(lengths.iter_lengths(config, lambda: False, scheduler, "me", cache)).partial
    assert again is result and len(scheduler.admissions) == 1


def length_result(packed, padded, truncated, forget=None, retained=None):
    trace = {} if forget is None else {"padding_forget": forget, "padding_retained": retained, "length": 10,
                                       "max_length": 50}
    return lengths.LengthsResult(config=lengths.LengthsConfig(truncate_to=20), seconds={},
                                 metrics={"packed": packed, "padded": padded, "truncated": truncated},
                                 curves={}, baseline=1 / 6, trace=trace)


def test_the_lengths_takeaway_is_computed_from_the_numbers():
    assert lengths.lengths_takeaway(length_result(0.003, 0.158, 0.0468, 0.394, 3.2e-17)) == (
        "Packing wins: MSE 0.003 packed against 0.158 padded without packing and 0.0468 truncated to 20 steps; "
        "over the 40 padded steps of a length-10 example the unpacked LSTM's forget gate averages 0.39, which keeps "
        "3.2e-17 of its cell state.")
    assert lengths.lengths_takeaway(length_result(0.05, 0.052, 0.2)) == (
        "Packing made little difference: MSE 0.05 packed against 0.052 padded without packing and 0.2 truncated "
        "to 20 steps.")
    assert lengths.lengths_takeaway(length_result(0.09, 0.03, 0.2)) == (
        "Packing did not help here: padded, not packed did best, MSE 0.09 packed against 0.03 padded without "
        "packing and 0.2 truncated to 20 steps.")


# ----- tuning -----
def sweep_row(final, solved_step=None, seconds=1.0, steps=600, metric_name="MSE"):
    return SweepRow(task="adding", arch="lstm", label="LSTM", length=50, seed=0, metric_name=metric_name,
                    final_metric=final, best_metric=final, baseline=1 / 6, solved_threshold=0.01,
                    solved_step=solved_step, steps_trained=solved_step or steps, status="solved" if solved_step else
                    "budget", wall_seconds=seconds, train_seconds=seconds)


def tuning_result(rows):
    config = tuning.TuningConfig(learning_rates=(1e-3, 1e-2), hidden_sizes=(16,), batch_sizes=(32,), steps_per_point=600)
    return tuning.TuningResult(config, tuple(rows), step_seconds={(16, 32): 0.01})  # 10 ms per training step


def test_the_tuning_takeaway_ranks_solved_points_by_time_to_solve_and_the_others_by_metric():
    result = tuning_result([sweep_row(0.12), sweep_row(0.004, solved_step=350)])
    assert tuning.tuning_takeaway(result) == (
        "Fastest to solve: lr 0.01, hidden 16, batch 32, 350 steps in 3.5 s. 1 of 2 points solved the adding "
        "problem T=50 within 600 steps; of the others the best reached MSE 0.12 (lr 0.001, hidden 16, batch 32).")
    # The lowest final error is not the quickest solve: a solved run stops at its first error below 0.01.
    result = tuning_result([sweep_row(0.008, solved_step=200), sweep_row(0.004, solved_step=500)])
    assert tuning.tuning_takeaway(result) == (
        "Fastest to solve: lr 0.001, hidden 16, batch 32, 200 steps in 2.0 s; the slowest solve took 5.0 s "
        "(lr 0.01, hidden 16, batch 32). 2 of 2 points solved the adding problem T=50 within 600 steps.")
    assert tuning.tuning_takeaway(tuning_result([sweep_row(0.15), sweep_row(0.09)])) == (
        "No point solved the adding problem T=50 within 600 steps: the best reached MSE 0.09 (lr 0.01, hidden 16, "
        "batch 32), the worst 0.15 (lr 0.001, hidden 16, batch 32).")
    assert tuning.tuning_takeaway(tuning_result([None, None])) == "No grid point has finished yet."


def test_the_grid_s_timing_and_its_points_queue_on_the_scheduler_behind_busy_slots():
    scheduler, cache = Scheduler(capacity=1), PointCache()
    blocker = scheduler.submit("someone else", "training", 1.0)
    updates = tuning.iter_tuning(TINY_TUNING, lambda: False, scheduler, "me", cache)
    update = next(updates)
    assert update.queued is not None and update.queued.kind == step_timing.TIMING_KIND and update.queued.owner == "me"
    blocker.finish()
    while next(updates).queued is not None:
        pass  # the timing job now holds the slot
    second = scheduler.submit("someone else", "training", 1.0)  # queues before the grid's first point
    update = next(updates)
    while update.queued is None:
        update = next(updates)
    assert update.queued.kind == "sweep point" and update.queued.position == 1 and second.admitted
    second.finish()
    last = run_to_end(updates)
    assert [t.kind for t in scheduler.admissions] == [
        "training", step_timing.TIMING_KIND, "training", "sweep point", "sweep point"]
    assert all(row is not None and not row.cached for row in last.partial.rows)
    assert [point.hidden_size for point, _ in last.partial.cells()] == [8, 16]
    assert sorted(last.partial.step_seconds) == [(8, 16), (16, 16)]


def test_cancel_stops_the_grid_and_keeps_the_finished_points_and_a_repeat_trains_nothing():
    config = replace(TINY_TUNING, hidden_sizes=(8, 16, 32))
    scheduler, cache = Scheduler(capacity=1), PointCache()
    stop = threading.Event()
    kept = None
    for update in tuning.iter_tuning(config, stop.is_set, scheduler, "me", cache):
        if update.partial is None:
            continue  # the side-by-side timing of the grid's settings, before its points
        kept = update.partial
        if update.partial.rows[0] is not None:
            stop.set()  # Cancel once the first point is done, while the second is about to train
    assert kept.rows[0] is not None and kept.rows[1:] == (None, None)
    assert len(cache) == 1 and scheduler.running == 0 and scheduler.waiting == 0
    # The full grid: the finished point comes from the cache, the others train; then all of it is cached.
    run_to_end(tuning.iter_tuning(config, lambda: False, scheduler, "me", cache))
    admitted = len(scheduler.admissions)
    repeat = run_to_end(tuning.iter_tuning(config, lambda: False, scheduler, "another session", cache)).partial
    assert len(scheduler.admissions) == admitted  # nothing trained, nothing timed, nothing queued
    assert all(row.cached for row in repeat.rows)


def test_a_grid_beyond_its_bounds_is_refused():
    for bad in (dict(learning_rates=(0.5,)), dict(hidden_sizes=()), dict(steps_per_point=0),
                dict(learning_rates=(1e-3, 3e-3, 1e-2, 3e-2), hidden_sizes=(8, 16, 32, 64, 128),
                     batch_sizes=(16, 32))):
        with pytest.raises(ConfigError):
            replace(tuning.TuningConfig(), **bad).validate()


# ----- stacking -----
@pytest.mark.parametrize("arch, gates", [("rnn", 1), ("gru", 3), ("lstm", 4)])
def test_parameter_counts_match_the_formula(arch, gates):
    hidden, inputs, outputs = 32, 2, 1  # the adding problem: (value, marker) in, the sum out
    config = stacking.StackingConfig(arch=arch, hidden_size=hidden)
    for layers in (1, 2, 3):
        # Each layer: gates x H rows of input and recurrent weights and two bias vectors; then the readout.
        expected = gates * hidden * (inputs + hidden) + 2 * gates * hidden
        expected += (layers - 1) * (gates * hidden * (hidden + hidden) + 2 * gates * hidden)
        expected += hidden * outputs + outputs
        assert config.parameter_count(layers) == expected


def stack_row(layers, final, ms, parameters, solved_step=None, steps=1500):
    return stacking.StackingRow(layers=layers, metric_name="MSE", final_metric=final, solved_step=solved_step,
                                steps_trained=solved_step or steps, seconds_per_step=ms / 1e3,
                                parameters=parameters, cached=False)


def test_the_stacking_takeaway_compares_times_to_solve_or_else_the_metrics_after_the_budget():
    config = stacking.StackingConfig()
    result = lambda *rows: stacking.StackingResult(config, rows)  # noqa: E731
    # Every depth solved (the measured case): the one that solved in the fewest seconds wins.
    assert stacking.stacking_takeaway(result(stack_row(1, 0.0057, 4.01, 4641, 450),
                                             stack_row(2, 0.0036, 7.40, 13089, 500),
                                             stack_row(3, 0.0023, 9.35, 21537, 800))) == (
        "Stacking did not help: 1 layer solved in 450 steps (1.8 s); 2 layers took 500 steps (3.7 s), 3 layers "
        "took 800 steps (7.5 s), at up to 2.3x the time per step and 4.6x the parameters.")
    # Only deeper stacks solved.
    assert stacking.stacking_takeaway(result(stack_row(1, 0.03, 1.6, 4513), stack_row(2, 0.009, 3.0, 12961, 800),
                                             stack_row(3, 0.008, 4.5, 21409, 900))) == (
        "2 layers solved fastest: 800 steps (2.4 s), where 1 layer did not solve it in 1,500 steps (MSE 0.03); "
        "at 1.9x the time per step and 2.9x the parameters.")
    # Nothing solved: the metric after the same budget; a deeper stack within 10% of one layer is no better.
    assert stacking.stacking_takeaway(result(stack_row(1, 0.021, 1.6, 4513), stack_row(2, 0.010, 3.1, 12961),
                                             stack_row(3, 0.012, 4.5, 21409))) == (
        "No depth solved it, but 2 layers came closest: MSE 0.01 against 0.021 with 1 layer, at 1.9x the time per "
        "step and 2.9x the parameters (3.1 ms against 1.6 ms per step, 12,961 against 4,513 parameters).")
    assert stacking.stacking_takeaway(result(stack_row(1, 0.010, 1.6, 4513), stack_row(2, 0.0095, 3.2, 12961),
                                             stack_row(3, 0.03, 4.8, 21409))) == (
        "Stacking did not help: no depth solved it; 1 layer reached MSE 0.01, against 0.0095 with 2 and 0.03 with 3 "
        "layers, at up to 3.0x the time per step and 4.7x the parameters.")
    assert stacking.stacking_takeaway(result()) == "No depth has finished yet."


def test_stacking_trains_each_depth_through_the_scheduler_and_measures_its_step_time():
    config = stacking.StackingConfig(length=8, hidden_size=6, steps=4, batch_size=8)
    scheduler = Scheduler(capacity=1)
    result = run_to_end(stacking.iter_stacking(config, lambda: False, scheduler, "me", PointCache())).partial
    assert [row.layers for row in result.rows] == [1, 2, 3]
    # First the depths' training steps timed side by side (one job), then one sweep point per depth.
    assert [t.kind for t in scheduler.admissions] == [step_timing.TIMING_KIND] + ["sweep point"] * 3
    assert all(row.seconds_per_step > 0 and row.steps_trained == 4 for row in result.rows)
    assert [row.parameters for row in result.rows] == [config.parameter_count(n) for n in (1, 2, 3)]


def test_the_side_by_side_timing_runs_every_depth_in_turns_and_stops_when_asked():
    config = stacking.StackingConfig(length=8, hidden_size=6, batch_size=8)
    runs = {layers: point_run_config(config.sweep_config(layers)) for layers in (1, 2, 3)}
    timings = step_timing.time_training_steps(runs, rounds=2, steps=2)
    assert sorted(timings) == [1, 2, 3] and all(0 < seconds < 5 for seconds in timings.values())
    calls = []
    assert step_timing.time_training_steps(runs, lambda: calls.append(1) or len(calls) > 2, rounds=2, steps=1) is None


# ----- the experiment thread -----
def test_the_time_left_is_the_measured_rate_over_the_work_left_plus_the_queue():
    update = Update(done=1.0, total=4.0, message="")
    assert ExperimentSnapshot("running", update, elapsed=12.0, computing=10.0).seconds_left() == pytest.approx(30.0)
    assert ExperimentSnapshot("running", update, 12.0, 10.0, queue_wait=5.0).seconds_left() == pytest.approx(35.0)
    assert ExperimentSnapshot("running", update, 0.5, 0.5).seconds_left() is None  # nothing measured yet
    assert ExperimentSnapshot("finished", update, 12.0, 10.0).seconds_left() == 0.0


def test_stop_ends_a_background_experiment_and_keeps_its_last_update():
    def steps(should_stop):
        for step in range(10_000):
            if should_stop():
                return
            yield Update(step, 10_000, f"step {step}", partial=step)
            threading.Event().wait(0.001)

    experiment = BackgroundExperiment(steps).start()
    wait_until(lambda: (experiment.snapshot().partial or 0) >= 3)
    experiment.stop()
    snapshot = experiment.snapshot()
    assert not experiment.alive and snapshot.status == "stopped" and snapshot.partial >= 3


def test_sessions_asking_the_same_experiment_watch_one_thread_that_stops_with_its_last_watcher():
    started = []

    def make(label):
        def steps(should_stop):
            started.append(label)
            for step in range(100_000):
                if should_stop():
                    return
                yield Update(step, 100_000, f"step {step}")
                threading.Event().wait(0.001)
        return lambda: BackgroundExperiment(steps)

    shared = SharedExperiments()
    first = shared.attach(("lengths", "settings A"), make("A"))
    second = shared.attach(("lengths", "settings A"), make("A again"))
    other = shared.attach(("lengths", "settings B"), make("B"))
    try:
        wait_until(lambda: len(started) == 2)
        assert second.experiment is first.experiment and second.joined and not first.joined
        assert other.experiment is not first.experiment and not other.joined
        assert sorted(started) == ["A", "B"] and shared.watchers(("lengths", "settings A")) == 2
        first.release()
        first.release()  # Stop, then the closed tab: one watcher lets go once
        assert first.experiment.alive and shared.watchers(("lengths", "settings A")) == 1
        second.release()
        assert not first.experiment.alive and first.experiment.snapshot().status == "stopped"
        third = shared.attach(("lengths", "settings A"), make("A after"))  # a stopped run is not joined: a new one
        assert third.experiment is not first.experiment and not third.joined
        third.release()
    finally:
        other.release()
    assert started[-1] == "A after" and not other.experiment.alive


def test_the_tuning_heatmap_writes_each_point_s_value_and_leaves_pending_points_open():
    from lstm_viz.figures.tuning import tuning_heatmap

    config = tuning.TuningConfig(learning_rates=(1e-3, 1e-2), hidden_sizes=(16,), batch_sizes=(32, 64))
    # Points go batch size first: (1e-3, 32), (1e-2, 32), (1e-3, 64), (1e-2, 64).
    result = tuning.TuningResult(config, (sweep_row(0.12), sweep_row(0.004, solved_step=350), None, None),
                                 step_seconds={(16, 32): 0.01, (16, 64): 0.02})
    figure = tuning_heatmap(config.points(), result.rows, "seconds", "MSE", result.solve_seconds)
    first, second = [trace for trace in figure.data if trace.type == "heatmap"]
    assert list(map(list, first.text)) == [["not solved"], ["3.5 s"]]
    assert list(map(list, second.text)) == [["…"], ["…"]]
    metric = tuning_heatmap(config.points(), result.rows, "metric", "MSE", result.solve_seconds)
    values = [trace for trace in metric.data if trace.type == "heatmap"][0].z
    assert [round(10 ** float(v[0]), 6) for v in values] == [0.12, 0.004]  # coloured by log10, written as is


def test_a_gru_run_shows_its_hidden_state_on_the_padding_and_its_takeaway_names_no_gate():
    from lstm_viz.figures.lengths import padding_gates_figure

    config = lengths.LengthsConfig(arch="gru", min_length=3, max_length=8, truncate_to=4, hidden_size=4,
                                   batch_size=8, steps=2)
    result = run_to_end(lengths.iter_lengths(config, lambda: False, cache=None)).partial
    assert "forget_gate" not in result.trace["padded"] and result.trace["padding_forget"] is None
    assert len(result.trace["padded"]["hidden_state"]) == 8 and len(result.trace["packed"]["hidden_state"]) == 3
    assert "forget gate" not in lengths.lengths_takeaway(result)
    figure = padding_gates_figure(result.trace, lengths.VARIANT_LABELS)
    assert len(figure.data) == 4  # hidden state and prediction, each for both models


def test_a_tuning_point_is_the_very_run_the_length_sweep_page_trains_so_they_share_the_cache():
    from lstm_viz.runs.sweep import DEFAULT_SWEEP

    config = tuning.TuningConfig()
    point = tuning.TuningPoint(learning_rate=1e-2, hidden_size=32, batch_size=64)
    # The Length sweep page's config for LSTM only, T=50, one seed, the same budget and knobs.
    sweep_page = replace(DEFAULT_SWEEP, lengths=(50,), archs=("lstm",), seeds=(0,),
                         steps_per_point=config.steps_per_point, hidden_size=32, learning_rate=1e-2, batch_size=64)
    assert point_run_config(config.sweep_config(point)).key() == sweep_page.run_config(sweep_page.points()[0]).key()


def test_stopping_the_lengths_experiment_frees_its_slot_and_caches_nothing():
    config = lengths.LengthsConfig(min_length=3, max_length=8, truncate_to=4, hidden_size=4, batch_size=8, steps=500)
    scheduler, cache, stop = Scheduler(capacity=1), lengths.ResultCache(), threading.Event()
    updates = 0
    for update in lengths.iter_lengths(config, stop.is_set, scheduler, "me", cache):
        updates += 1
        if updates == 3:
            stop.set()
    assert updates == 3 and not isinstance(update.partial, lengths.LengthsResult)
    assert cache.get(config) is None and scheduler.running == 0
    assert scheduler.admissions[0].state == "done" and not scheduler.admissions[0].completed
