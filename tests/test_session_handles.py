"""A session tracks each background job through one handle under one key: the Train page's run under "run", the
Length sweep under "sweep". Starting, stopping and replacing a run changes that handle, and nothing else keeps a
second copy of the run (the keys that used to: worker, running, trainer, imported_run, sweep_worker...)."""
from lstm_viz.ui.session_jobs import Watched
from lstm_viz.ui.session_run import RUN_KEY, SessionRun
from tests.app_support import clear_caches, open_page, tiny_settings, train_until_done  # noqa: F401

OLD_KEYS = {"worker", "running", "trainer", "imported_run", "run_id", "trace_models", "sweep_worker", "sweep_running",
            "sweep_error"}


class FakeJob:
    def __init__(self):
        self.alive = True


def test_a_watched_job_reports_its_end_once():
    job = FakeJob()
    watched = Watched(running=True)
    watched.job = lambda: job
    assert watched.is_running() and not watched.ended()
    job.alive = False
    assert not watched.is_running()
    assert watched.ended() and not watched.ended() and not watched.running


def test_the_run_lives_in_one_handle_from_start_to_a_new_run():
    at = open_page("pages/train.py")
    assert not OLD_KEYS & set(at.session_state)
    empty = at.session_state[RUN_KEY]
    assert isinstance(empty, SessionRun) and empty.subscription is None and empty.trainer is None
    tiny_settings(at)
    train_until_done(at)
    first = at.session_state[RUN_KEY]
    assert first.subscription is not None and first.run_id == empty.run_id + 1
    assert first.trainer is not None and first.trainer.finished and not first.running
    assert first.config == first.subscription.config
    assert not OLD_KEYS & set(at.session_state)
    # A second run replaces the handle: a new id (new widget keys), no trace models of the old run.
    at.number_input(key="seed").set_value(3)
    train_until_done(at)
    second = at.session_state[RUN_KEY]
    assert second is not first and second.run_id == first.run_id + 1 and second.config.seed == 3
    assert second.trainer.config.seed == 3 and first.trainer.config.seed != 3
