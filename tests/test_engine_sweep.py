"""Length sweep engine: each point equals an independent Trainer run, the cache trains nothing twice, a stop
keeps only finished points, and the published results carry their citations."""
import json
import math
import threading
import time
from dataclasses import replace

import pytest

from lstm_viz.rules.errors import ConfigError
from lstm_viz.runs.sweep import (
    DEFAULT_SWEEP, PUBLISHED_RESULTS_PATH, BackgroundSweep, PointCache, SweepConfig, iter_sweep,
    load_precomputed_sweep, load_published_results, load_sweep, result_table, run_sweep, save_sweep,
)
from lstm_viz.runs.sweep_config import SweepPoint
from lstm_viz.figures.sweep import figure_for_sweep
from lstm_viz.core.trainer import RunConfig, Trainer

TINY = SweepConfig(task="adding", lengths=(10, 6), archs=("rnn", "lstm"), seeds=(0,), steps_per_point=12,
                   hidden_size=8, batch_size=16, eval_every=5, eval_size=64)


@pytest.fixture
def count_steps(monkeypatch):
    """Counts every training step any Trainer takes."""
    calls = {"steps": 0}
    original = Trainer.train_step
    lock = threading.Lock()  # sweeps in several threads count into it

    def counting(self):
        with lock:
            calls["steps"] += 1
        return original(self)

    monkeypatch.setattr(Trainer, "train_step", counting)
    return calls


@pytest.fixture(scope="module")
def tiny_rows():
    """TINY's rows, trained once for the tests that only read them."""
    return run_sweep(TINY, cache=None)


def train(config: RunConfig) -> Trainer:
    trainer = Trainer(config)
    while not trainer.finished:
        trainer.train_step()
    return trainer


def test_each_point_equals_an_independent_trainer_run(tiny_rows):
    rows = tiny_rows
    assert [(row.length, row.arch, row.seed) for row in rows] == [
        (6, "rnn", 0), (6, "lstm", 0), (10, "rnn", 0), (10, "lstm", 0)]
    for row in rows:
        trainer = train(RunConfig(task="adding", length=row.length, archs=(row.arch,), hidden_size=8, batch_size=16,
                                  max_steps=12, eval_every=5, eval_size=64, probe_every=12, probe_size=4,
                                  trace_examples=1, max_checkpoints=2, seed=row.seed))
        run = trainer.runs[row.arch]
        assert row.final_metric == run.last_metric
        assert row.best_metric == min(v for s, v in zip(run.eval_steps, run.eval_metric) if s > 0)
        assert row.baseline == pytest.approx(1 / 6) and row.solved_threshold == 0.01
        assert row.steps_trained == trainer.step == 12 and row.status == "budget" and row.solved_step is None
        assert row.wall_seconds >= row.train_seconds > 0 and not row.cached


def test_a_single_architecture_point_equals_that_architecture_in_a_joint_run():
    """Why a point may train one architecture alone: batches and initial weights do not depend on the others."""
    rows = run_sweep(replace(TINY, lengths=(10,)), cache=None)
    joint = train(RunConfig(task="adding", length=10, archs=("rnn", "lstm"), hidden_size=8, batch_size=16,
                            max_steps=12, eval_every=5, eval_size=64, probe_every=12, probe_size=4, trace_examples=1))
    for row in rows:
        assert row.final_metric == pytest.approx(joint.runs[row.arch].last_metric, rel=1e-6)


def test_a_point_stops_when_solved(count_steps):
    # T=4, H=16, lr 3e-2: the LSTM solves the adding problem in about 120 steps.
    config = replace(TINY, lengths=(4,), archs=("lstm",), steps_per_point=3000, hidden_size=16, batch_size=32,
                     learning_rate=3e-2)
    (row,) = run_sweep(config, cache=None)
    assert row.status == "solved" and row.solved_step is not None
    assert row.steps_trained == row.solved_step == count_steps["steps"] < 3000
    assert row.final_metric <= 0.01 and row.beats_baseline


def test_rerunning_a_sweep_trains_nothing_and_returns_the_same_rows(count_steps):
    cache = PointCache()
    first = run_sweep(TINY, cache=cache)
    trained = count_steps["steps"]
    assert trained == 4 * 12 and len(cache) == 4
    again = run_sweep(TINY, cache=cache)
    assert count_steps["steps"] == trained  # nothing trained
    assert [replace(row, cached=False) for row in again] == first
    assert all(row.cached for row in again)
    # A sweep sharing two points trains only the new ones; the estimate counts only those.
    wider = replace(TINY, lengths=(6, 10, 12))
    assert wider.estimated_seconds(cache) == pytest.approx(sum(wider.point_seconds(p) for p in wider.points()[-2:]))
    rows = run_sweep(wider, cache=cache)
    assert count_steps["steps"] == trained + 2 * 12
    assert [row.cached for row in rows] == [True, True, True, True, False, False]


def test_concurrent_identical_sweeps_train_each_point_once(count_steps):
    """Thirty students pressing Start on the same sweep: a point being trained by one thread is waited for
    by the others, not trained again."""
    cache = PointCache()
    workers = [BackgroundSweep(TINY, cache=cache).start() for _ in range(3)]
    assert all(worker.wait(120) for worker in workers)
    assert count_steps["steps"] == 4 * 12
    results = [[row.final_metric for row in worker.snapshot().rows] for worker in workers]
    assert results[0] == results[1] == results[2] and len(results[0]) == 4
    assert sum(not row.cached for worker in workers for row in worker.snapshot().rows) == 4


def test_a_point_whose_owner_stops_is_trained_by_the_thread_waiting_for_it(count_steps):
    cache = PointCache()
    config = replace(TINY, lengths=(6,), archs=("rnn",))
    (point,) = config.points()
    _, busy = cache.claim(config.run_config(point))  # as if another session were training it
    assert busy is None
    waiter = BackgroundSweep(config, cache=cache).start()
    while waiter.snapshot().current is None or not waiter.snapshot().current.waiting:
        time.sleep(0.01)
    assert count_steps["steps"] == 0
    cache.release(config.run_config(point))  # the owner stopped without a result
    assert waiter.wait(60)
    (row,) = waiter.snapshot().rows
    assert not row.cached and count_steps["steps"] == 12


def test_the_cache_is_bounded_and_keyed_by_the_whole_run_config():
    cache = PointCache(max_entries=2)
    rows = run_sweep(TINY, cache=cache)
    assert len(cache) == 2
    configs = [TINY.run_config(point) for point in TINY.points()]
    assert cache.get(configs[0]) is None and cache.get(configs[-1]) == rows[-1]
    assert cache.get(replace(configs[-1], learning_rate=1e-3)) is None


def test_stopping_mid_sweep_keeps_only_finished_points(count_steps):
    cache = PointCache()
    # Stop after the first point and 5 steps into the second.
    events = list(iter_sweep(TINY, cache, should_stop=lambda: count_steps["steps"] >= 12 + 5))
    rows = [event.row for event in events if event.row is not None]
    assert len(rows) == 1 and (rows[0].length, rows[0].arch) == (6, "rnn")
    assert count_steps["steps"] == 17
    assert events[-1].point_index == 1 and events[-1].step == 5 and events[-1].row is None
    assert len(cache) == 1  # the stopped point is not cached
    # Progress events: every step of a point, point i of n.
    first_point = [event for event in events if event.point_index == 0]
    assert [event.step for event in first_point] == list(range(0, 13))
    assert all(event.point_count == 4 and event.max_steps == 12 for event in events)


def test_background_sweep_runs_reports_progress_and_stops(tiny_rows):
    cache = PointCache()
    worker = BackgroundSweep(TINY, cache=cache).start()
    fractions = []
    while worker.alive:
        fractions.append(worker.snapshot().fraction)
        time.sleep(0.01)
    final = worker.snapshot()
    assert final.status == "finished" and final.fraction == 1.0 and len(final.rows) == 4
    assert fractions == sorted(fractions)
    assert [row.final_metric for row in final.rows] == [row.final_metric for row in tiny_rows]

    long = replace(TINY, lengths=(50,), steps_per_point=20_000)
    worker = BackgroundSweep(long, cache=cache).start()
    while worker.snapshot().current is None or worker.snapshot().current.step < 3:
        time.sleep(0.01)
    worker.stop()
    stopped = worker.snapshot()
    assert not worker.alive and stopped.status == "stopped" and stopped.rows == ()
    assert all(cache.get(long.run_config(point)) is None for point in long.points())


def test_an_unwatched_sweep_stops_itself():
    worker = BackgroundSweep(replace(TINY, lengths=(50,), steps_per_point=20_000), cache=None,
                             unwatched_timeout=0.3).start()
    assert worker.wait(20)
    assert worker.snapshot().status == "stopped"


def test_result_table_has_one_row_per_point(tiny_rows):
    rows = tiny_rows
    table = result_table(rows)
    assert len(table) == 4
    for column in ("task", "arch", "length", "seed", "final_metric", "best_metric", "baseline", "solved_step",
                   "wall_seconds"):
        assert column in table.columns
    assert list(table["final_metric"]) == [row.final_metric for row in rows]


def test_invalid_sweeps_are_refused_with_a_message():
    with pytest.raises(ConfigError, match="at least one architecture"):
        replace(TINY, archs=()).validate()
    with pytest.raises(ConfigError, match="length must be between"):
        replace(TINY, lengths=(2000,)).validate()
    with pytest.raises(ConfigError, match="points; the limit is"):
        replace(TINY, lengths=tuple(range(10, 110, 5)), seeds=(0, 1)).validate()
    with pytest.raises(ConfigError, match="would train for up to about"):
        replace(TINY, lengths=(1000,), archs=("gru",), steps_per_point=20_000).validate()


def test_saved_sweeps_round_trip_and_the_shipped_default_matches_the_default_settings(tmp_path, tiny_rows):
    rows = tiny_rows
    saved = load_sweep(save_sweep(tmp_path / "s.json", TINY, rows, {"note": "x"}))
    assert saved.config == TINY and saved.rows == rows and saved.info == {"note": "x"}
    shipped = load_precomputed_sweep()
    assert shipped.config == DEFAULT_SWEEP
    assert [(row.length, row.arch, row.seed) for row in shipped.rows] == [
        (point.length, point.arch, point.seed) for point in DEFAULT_SWEEP.points()]
    assert all(math.isfinite(row.final_metric) for row in shipped.rows)


def test_published_results_parse_and_every_row_has_a_citation():
    raw = json.loads(PUBLISHED_RESULTS_PATH.read_text())
    results = load_published_results()
    assert len(results) == len(raw["results"]) > 0
    for result in results:
        assert result.citation and result.short and result.url.startswith("https://")
        assert str(int(result.short[-4:])) in result.citation  # the year is in the full reference
        assert result.setup and isinstance(result.beats_baseline, bool) and result.length > 0
    # What literature.md records from Arjovsky, Shah & Bengio 2016.
    arjovsky = {(r.task, r.arch, r.length): r.beats_baseline for r in results if r.source == "arjovsky2016"}
    assert all(not beats for (task, arch, _), beats in arjovsky.items() if task == "adding" and arch == "rnn")
    assert all(arjovsky[("adding", "lstm", length)] for length in (100, 200, 400))
    copy_lstm = {length for (task, arch, length), beats in arjovsky.items()
                 if task == "copy" and arch == "lstm" and beats}
    assert copy_lstm == {100}


def test_figure_shows_every_point_the_baseline_and_published_results_with_citations():
    config = replace(TINY, lengths=(6,), seeds=(0, 1))
    rows = run_sweep(config, cache=None)
    figure = figure_for_sweep(config, rows, load_published_results())
    traces = {trace.name: trace for trace in figure.data}
    for arch, label in (("rnn", "RNN (tanh)"), ("lstm", "LSTM")):
        mean = traces[f"{label} (mean over seeds)"]
        assert list(mean.x) == [6]
        for length, y in zip(mean.x, mean.y):
            values = [row.final_metric for row in rows if row.arch == arch and row.length == length]
            assert y == pytest.approx(sum(values) / 2)
        seeds = traces[f"{label}, each seed"]
        assert sorted(seeds.y) == sorted(row.final_metric for row in rows if row.arch == arch)
    assert list(traces["no-memory baseline"].y) == [pytest.approx(1 / 6)] * len(traces["no-memory baseline"].x)
    published = [trace for trace in figure.data if trace.legendgroup == "published" and trace.x[0] is not None]
    hovers = [text for trace in published for text in trace.hovertext]
    assert len(hovers) == sum(r.task == "adding" for r in load_published_results())
    assert all("arXiv" in text.replace("<br>", " ") or "Neural Computation" in text.replace("<br>", " ")
               for text in hovers)
    assert figure.layout.xaxis2.type == "log" and figure.layout.yaxis2.type == "log"
    assert figure.layout.title.text and figure.layout.xaxis2.title.text and figure.layout.yaxis2.title.text


def test_a_tiny_sweep_trains_the_transformer_each_point_equal_to_its_own_trainer_run():
    config = replace(TINY, archs=("lstm", "transformer"))
    rows = run_sweep(config, cache=None)
    assert [(row.length, row.arch) for row in rows] == [(6, "lstm"), (6, "transformer"), (10, "lstm"),
                                                        (10, "transformer")]
    for row in (row for row in rows if row.arch == "transformer"):
        # The sweep's Transformer is the registry's default one: 2 heads, sinusoidal positions.
        trainer = train(RunConfig(task="adding", length=row.length, archs=("transformer",), hidden_size=8,
                                  batch_size=16, max_steps=12, eval_every=5, eval_size=64, probe_every=12,
                                  probe_size=4, trace_examples=1, max_checkpoints=2, heads=2, positions="sinusoidal"))
        assert row.label == "Transformer" and row.steps_trained == 12
        assert row.final_metric == trainer.runs["transformer"].last_metric
        assert math.isfinite(row.final_metric) and row.baseline == pytest.approx(1 / 6)
    # Its estimate grows faster than linearly in T: attention's cost has a T^2 term.
    short, long = (config.point_seconds(SweepPoint(length, "transformer", 0)) for length in (100, 1000))
    assert long > 10 * short
