"""The Train page's figures are built once per server for every session watching the same run: the memo builds each
key once even when sessions ask at the same moment, forgets failures, stays bounded, keys by the run's source (never a
copy of it), and what two sessions see is the chart of their run's numbers."""
import json
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import plotly.io as pio
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from lstm_viz.figures import style, training as figures
from lstm_viz.runs.bundled import load_bundled_run
from lstm_viz.runs.shared_runs import replay_snapshot
from lstm_viz.ui import services, session_run
from lstm_viz.ui.train import figures as views

APP = str(Path(__file__).resolve().parents[1] / "app.py")
HEADLINE = "preset-vanishing-gradients"


def test_concurrent_sessions_asking_for_one_key_build_it_once():
    calls, results = [], []
    gate = threading.Barrier(8)

    def build():
        calls.append(1)
        time.sleep(0.05)  # long enough for every other thread to arrive while it is built
        return object()

    def session():
        gate.wait()
        results.append(views.TRAIN_FIGURES(("test", "concurrent", id(gate)), build))

    threads = [threading.Thread(target=session) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert len(results) == 8 and all(result is results[0] for result in results)


def test_a_failed_build_is_not_remembered():
    key = ("test", "fails once", object())
    with pytest.raises(ZeroDivisionError):
        views.TRAIN_FIGURES(key, lambda: 1 / 0)
    assert views.TRAIN_FIGURES(key, lambda: "built") == "built"


def test_the_memo_is_bounded_and_drops_the_oldest_first():
    marker = object()
    keys = [("test", "bounded", marker, i) for i in range(views.SHARED_CACHE_SIZE + 5)]
    for i, key in enumerate(keys):
        views.TRAIN_FIGURES(key, lambda i=i: i)
    assert len(views.TRAIN_FIGURES) == views.SHARED_CACHE_SIZE
    assert keys[0] not in views.TRAIN_FIGURES and keys[-1] in views.TRAIN_FIGURES
    assert views.TRAIN_FIGURES(keys[-1], lambda: "rebuilt") == len(keys) - 1


class FakeWorker:
    """Stands for a BackgroundTraining: compared and hashed by identity, weakly referenceable."""


def _watching(monkeypatch, subscription):
    monkeypatch.setattr(session_run, "subscription", lambda: subscription)


def test_the_source_of_a_run_is_what_it_replays_or_the_training_it_watches(monkeypatch):
    recorded, other = load_bundled_run(HEADLINE), load_bundled_run("adding-100-three-cells")
    worker = FakeWorker()
    tokens = {}
    for name, subscription in {
        "replay a": SimpleNamespace(replay=SimpleNamespace(trainer=recorded), worker=None),
        "replay b": SimpleNamespace(replay=SimpleNamespace(trainer=recorded), worker=None),
        "replay other": SimpleNamespace(replay=SimpleNamespace(trainer=other), worker=None),
        "live a": SimpleNamespace(replay=None, worker=worker),
        "live b": SimpleNamespace(replay=None, worker=worker),
    }.items():
        _watching(monkeypatch, subscription)
        tokens[name] = views.run_source(replay_snapshot(recorded, 100))
    assert tokens["replay a"] == tokens["replay b"]
    assert tokens["live a"] == tokens["live b"]
    assert len({tokens["replay a"], tokens["replay other"], tokens["live a"]}) == 3
    # No subscription (an imported model): the run object itself, and a copy of it is another source.
    _watching(monkeypatch, None)
    snapshot = replay_snapshot(recorded, 200)
    assert views.run_source(snapshot) == views.run_source(snapshot)
    assert views.run_source(snapshot) != views.run_source(replay_snapshot(recorded, 200))
    assert views.run_source(snapshot) not in tokens.values()


def _direct_loss_figure(trainer):
    task = trainer.task
    return figures.loss_curves(
        [figures.LossSeries(arch, run.label, run.steps, run.train_loss, run.eval_steps, run.eval_metric)
         for arch, run in trainer.runs.items()],
        baseline=trainer.baseline, solved_threshold=trainer.solved_threshold,
        metric_name=f"test {task.metric_name}", max_steps=trainer.config.max_steps,
        title=f"Test {task.metric_name} while training", subtitle=f"{task.label}, T = {trainer.config.length}",
        baseline_name=task.baseline_name,
    )


def test_snapshots_at_the_same_step_share_the_loss_chart_and_a_later_step_gets_its_own(monkeypatch):
    recorded = load_bundled_run(HEADLINE)
    _watching(monkeypatch, SimpleNamespace(replay=SimpleNamespace(trainer=recorded), worker=None))
    early, same, later = replay_snapshot(recorded, 400), replay_snapshot(recorded, 400), replay_snapshot(recorded, 900)
    shared = views.loss_figure(early)
    assert views.loss_figure(same) is shared
    assert shared.to_dict() == _direct_loss_figure(early).to_dict()
    assert views.loss_figure(later).to_dict() == _direct_loss_figure(later).to_dict()
    lstm_x = next(t.x for t in views.loss_figure(later).data if t.name == "LSTM")
    assert lstm_x[-1] == max(s for s in recorded.runs["lstm"].eval_steps if s <= 900)
    # The checkpoint charts too: the same object for both sessions, the numbers of that checkpoint.
    assert views.gradient_figure(early) is views.gradient_figure(same)
    lstm = next(t for t in views.gradient_figure(later).data if t.name.startswith("LSTM (step"))
    checkpoint = [c for c in recorded.runs["lstm"].checkpoints if c.step <= 900][-1]
    norms = checkpoint.gradient_flow.grad_norm_per_step[0]
    np.testing.assert_allclose(lstm.y, norms / norms[-1], rtol=1e-12)
    assert f"step {checkpoint.step}" in lstm.name


def test_downsampled_train_loss_is_the_mean_of_each_bin():
    values = np.random.default_rng(3).lognormal(size=1999)
    values[50:60] = np.nan  # an all-NaN bin stays NaN
    values[7] = np.inf
    steps = np.arange(1, 2000)
    shown_steps, shown = style.downsample(steps, style.finite_or_nan(values), 600)
    clean = style.finite_or_nan(values)
    assert len(shown) == 600
    start = 0
    for index in range(600):
        size = 1999 // 600 + (1 if index < 1999 % 600 else 0)
        block = clean[start:start + size]
        finite = block[np.isfinite(block)]
        assert shown_steps[index] == steps[start + size - 1]
        if finite.size:
            assert shown[index] == pytest.approx(finite.sum() / finite.size, rel=1e-12)
        else:
            assert np.isnan(shown[index])
        start += size
    assert start == 1999


@pytest.fixture
def fresh_server():
    st.cache_resource.clear()
    yield
    services.hub().shutdown()
    st.cache_resource.clear()


def _chart_spec(at: AppTest, key: str) -> dict:
    charts = [element for element in at.get("plotly_chart") if key in str(element.proto.id)]
    assert charts, "no chart " + key
    return json.loads(charts[-1].proto.spec)


def test_two_sessions_replaying_the_headline_see_the_charts_of_the_shipped_run(fresh_server):
    sessions = []
    for _ in range(2):
        at = AppTest.from_file(APP, default_timeout=60)
        at.run()
        at.button(key="open_headline").click().run()
        at.button(key="start").click().run()
        at.button(key="skip_replay").click().run()
        at.run()
        assert not at.exception
        sessions.append(at)
    recorded = load_bundled_run(HEADLINE)
    expected = json.loads(pio.to_json(_direct_loss_figure(recorded), validate=False))
    for at in sessions:
        assert at.session_state["run"].trainer.step == recorded.step
        assert _chart_spec(at, "loss_chart") == expected
    assert _chart_spec(sessions[0], "internals_chart") == _chart_spec(sessions[1], "internals_chart")


def test_a_replay_advances_in_frames_shared_by_every_session_replaying_it(monkeypatch):
    from lstm_viz.runs import shared_runs

    recorded = load_bundled_run(HEADLINE)
    now = [1000.0]
    monkeypatch.setattr(shared_runs.time, "monotonic", lambda: now[0])
    first, second = shared_runs.Replay(recorded, seconds=20), shared_runs.Replay(recorded, seconds=20)
    first.snapshot()
    now[0] += 0.3
    second.snapshot()  # began 0.3 s later
    frames = round(20 * shared_runs.REPLAY_FRAMES_PER_SECOND)
    grid = {frame * recorded.step // frames for frame in range(frames + 1)}
    seen = set()
    for _ in range(60):
        now[0] += 0.37
        for replay in (first, second):
            step = replay.step
            assert step in grid
            seen.add(step)
    assert first.step == second.step == recorded.step and not first.alive
    assert seen == grid  # both sessions on the same grid of 41 steps, not 2 x 60 different ones
