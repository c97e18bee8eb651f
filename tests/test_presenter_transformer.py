"""Presenter mode on a run its five-step narrative is not written for (an LSTM beside a Transformer): no banner
telling the RNN-and-LSTM story over it, and Start on a recorded run replays it instead of failing in the narrative
(it raised KeyError: 'rnn' looking for the RNN's stages)."""
from lstm_viz.core.trainer import RunConfig, Trainer
from lstm_viz.runs import narrative
from tests import app_support
from tests.app_support import clear_caches, train_until_done  # noqa: F401


def test_a_transformer_run_has_no_headline_stages_to_hold_a_replay_at():
    trainer = Trainer(RunConfig(task="adding", length=12, archs=("lstm", "transformer"), hidden_size=8, max_steps=6,
                                batch_size=8, eval_every=3, probe_every=3, eval_size=16, probe_size=6))
    while not trainer.finished:
        trainer.train_step()
    assert not narrative.tells_headline(trainer)
    assert narrative.stage_starts(trainer) == {}


def test_presenter_mode_replays_a_recorded_lstm_and_transformer_run_without_the_headline_story():
    at = app_support.open_page("pages/train.py", {"preset": "lstm-vs-transformer", "presenter": "1"})
    assert not at.exception
    assert "Step 1 of 5" not in " ".join(info.value for info in at.info)  # no RNN-and-LSTM story over this run
    # Presenter mode hides the settings: a small run of the preset's architectures comes by link.
    at = app_support.open_page("pages/train.py", {"preset": "lstm-vs-transformer", "presenter": "1", "max_steps": "10",
                                                  "hidden_size": "8", "length": "20", "batch_size": "16"})
    assert at.session_state["archs"] == ["lstm", "transformer"]
    train_until_done(at)  # the first run trains live
    at.button(key="start").click().run()  # the same settings again: the recorded run is replayed
    app_support.refresh_while(at, app_support.training, check_exceptions=True)
    assert not at.exception
    assert at.session_state["run"].subscription.snapshot().step == 10
    assert "Step " not in " ".join(info.value for info in at.info)
