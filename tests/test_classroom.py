"""Many sessions on one server, through the real pages: equal settings train once, extra runs queue and see their
place, cached and precomputed runs are replayed and say so, and nothing keeps training for nobody."""
import threading
import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from lstm_viz.runs.bundled import precomputed_run
from lstm_viz.runs.presets import PRESETS
from lstm_viz.ui import services, state

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 60
WAIT_SECONDS = 60
TINY = dict(max_steps=20, hidden_size=8, length=20, batch_size=16)


def training_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "lstm-viz-training" and t.is_alive()]


@pytest.fixture(autouse=True)
def fresh_server(monkeypatch):
    """A new hub per test (AppTest sessions share one process, like the sessions of one server)."""
    monkeypatch.setenv("LSTM_VIZ_MAX_TRAININGS", "1")
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    services.hub().shutdown()
    st.cache_resource.clear()
    deadline = time.monotonic() + WAIT_SECONDS
    while training_threads():
        assert time.monotonic() < deadline, "training threads left behind"
        time.sleep(0.05)


def session(**settings) -> AppTest:
    """A student's browser on the Train page with these settings."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.switch_page("pages/train.py").run()
    for key, value in {**TINY, **settings}.items():
        at.number_input(key=key).set_value(value)
    at.run()
    assert not at.exception
    return at


def refresh_until(at: AppTest, condition) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition(at):
        assert not at.exception, at.exception
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
        at.run()


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def test_two_sessions_with_the_same_settings_cause_one_training():
    first, second = session(), session()
    first.button(key="start").click().run()
    second.button(key="start").click().run()
    assert services.hub().trainings_started == 1
    assert first.session_state["run"].subscription.source == "trained"
    assert second.session_state["run"].subscription.source in ("shared-live", "cached")
    refresh_until(first, lambda at: not at.session_state["run"].running)
    refresh_until(second, lambda at: not at.session_state["run"].running or any(
        "Skip to end" in b.label for b in at.button))
    if second.session_state["run"].running:  # it came after the run ended: a replay, skipped to the end
        second.button(key="skip_replay").click().run()
        refresh_until(second, lambda at: not at.session_state["run"].running)
    a, b = first.session_state["run"].trainer, second.session_state["run"].trainer
    assert a.step == b.step == 20
    assert a.runs["lstm"].eval_metric == b.runs["lstm"].eval_metric
    assert "Shared live run" in captions(second) or "Cached result, replayed" in captions(second)
    assert services.hub().trainings_started == 1


def test_a_run_over_the_slot_limit_queues_shows_its_place_and_starts_when_a_slot_frees():
    busy = session(max_steps=100_000)
    busy.button(key="start").click().run()
    refresh_until(busy, lambda at: at.session_state["run"].trainer is not None)
    waiting = session(seed=1)
    waiting.button(key="start").click().run()
    info = "\n".join(i.value for i in waiting.info)
    assert "Waiting for a free training slot: position 1 of 1" in info
    assert "Estimated wait: about" in info and "from how fast this server's jobs run" in info
    assert waiting.session_state["run"].running and waiting.session_state["run"].trainer is None
    busy.button(key="stop").click().run()
    refresh_until(waiting, lambda at: not at.session_state["run"].running)
    assert waiting.session_state["run"].trainer.step == 20 and waiting.session_state["run"].trainer.finished
    assert services.hub().trainings_started == 2


def test_a_queued_run_polls_slowly_and_draws_at_the_charts_rate_once_admitted(monkeypatch):
    from lstm_viz.ui import boundary
    from lstm_viz.ui.train import dashboard

    intervals = []  # run_every of each fragment the page declares, in order: training charts, then insides
    declare = boundary.fragment

    def recording(body=None, *, run_every=None):
        intervals.append(run_every)
        return declare(body, run_every=run_every)

    monkeypatch.setattr(boundary, "fragment", recording)
    busy = session(max_steps=100_000)
    busy.button(key="start").click().run()
    refresh_until(busy, lambda at: at.session_state["run"].trainer is not None)
    waiting = session(seed=1, max_steps=200)
    intervals.clear()
    waiting.button(key="start").click().run()
    assert "Waiting for a free training slot" in "\n".join(i.value for i in waiting.info)
    # Queued: the place in the queue is polled every QUEUED_REFRESH_SECONDS, the insides not at all.
    assert intervals[-2:] == [dashboard.QUEUED_REFRESH_SECONDS, None]
    busy.button(key="stop").click().run()
    refresh_until(waiting, lambda at: at.session_state["run"].trainer is not None)
    waiting.run()  # a run of the page after the admission, as the refresh's rerun is
    assert intervals[-2] < dashboard.QUEUED_REFRESH_SECONDS and intervals[-1] is not None
    waiting.button(key="stop").click().run()


def test_stopping_a_queued_run_takes_it_out_of_the_queue():
    busy = session(max_steps=100_000)
    busy.button(key="start").click().run()
    refresh_until(busy, lambda at: at.session_state["run"].trainer is not None)
    waiting = session(seed=1)
    waiting.button(key="start").click().run()
    assert services.hub().status()["waiting"] == 1
    waiting.button(key="stop").click().run()
    assert not waiting.exception and not waiting.session_state["run"].running
    deadline = time.monotonic() + WAIT_SECONDS
    while services.hub().status()["waiting"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert len(training_threads()) == 1  # only the busy run
    busy.button(key="stop").click().run()


def test_a_disconnected_session_releases_its_run():
    at = session(max_steps=100_000)
    at.button(key="start").click().run()
    refresh_until(at, lambda at: at.session_state["run"].trainer is not None)
    assert len(training_threads()) == 1
    # What Streamlit's release of the session's resources does when its browser disconnects.
    at.session_state["run"].subscription.release("stopped: the browser disconnected")
    deadline = time.monotonic() + WAIT_SECONDS
    while training_threads():
        assert time.monotonic() < deadline, "training went on with nobody watching"
        time.sleep(0.05)


def test_the_headline_preset_is_replayed_from_the_shipped_run_and_says_so():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.button(key="open_headline").click().run()
    at.button(key="start").click().run()
    assert not at.exception
    assert services.hub().trainings_started == 0
    assert "Cached result, replayed" in captions(at) and "precomputed with exactly these settings" in captions(at)
    at.button(key="skip_replay").click().run()
    refresh_until(at, lambda at: not at.session_state["run"].running)
    trainer = at.session_state["run"].trainer
    shipped = precomputed_run(PRESETS["vanishing-gradients"].config)
    assert trainer.step == shipped.step and trainer.runs["lstm"].solved_step == shipped.runs["lstm"].solved_step
    assert any(f"LSTM solved T=100 at step {shipped.runs['lstm'].solved_step}" in s.value for s in at.success)


def test_a_run_over_the_wall_time_cap_ends_with_a_clear_message(monkeypatch):
    monkeypatch.setenv("LSTM_VIZ_RUN_SECONDS", "1")
    at = session(max_steps=100_000)
    at.button(key="start").click().run()
    refresh_until(at, lambda at: not at.session_state["run"].running)
    assert any(w.value.startswith("**Time limit reached.** This server limits a run to 1 s of wall time")
               for w in at.warning)
    assert all(run.status == "stopped" for run in at.session_state["run"].trainer.runs.values())


def test_a_sweep_queues_behind_a_training_on_the_one_slot_and_says_where_it_stands():
    """The Length sweep takes the server's slot in turn (issue 10, F4): while a training holds the only slot, the
    sweep's first point waits, and the page says so with its place and an estimated wait."""
    busy = session(max_steps=100_000)
    busy.button(key="start").click().run()
    refresh_until(busy, lambda at: at.session_state["run"].trainer is not None)
    sweeper = AppTest.from_file(APP, default_timeout=TIMEOUT)
    sweeper.run()
    sweeper.switch_page("pages/length_sweep.py").run()
    sweeper.multiselect(key="sweep_lengths").set_value(["5"])
    sweeper.number_input(key="sweep_steps").set_value(5)
    sweeper.number_input(key="sweep_hidden").set_value(4)
    sweeper.button(key="sweep_start").click().run()
    refresh_until(sweeper, lambda at: any("waiting for a free slot on this server" in p.proto.text
                                          for p in at.get("progress")))
    text = next(p.proto.text for p in sweeper.get("progress") if "waiting for a free slot" in p.proto.text)
    assert "position 1 in the queue, about" in text
    assert services.scheduler().status()["running_kinds"] == ["training"]
    busy.button(key="stop").click().run()
    refresh_until(sweeper, lambda at: not at.session_state["sweep"].running)
    assert sweeper.session_state["sweep"].sweep.snapshot().status == "finished"
