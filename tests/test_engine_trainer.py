"""The trainer: determinism, identical batches across architectures, stopping, divergence, limits."""
import json
import math
from dataclasses import replace

import pytest
import torch

from lstm_viz.rules.errors import ConfigError
from lstm_viz.core.trainer import RunConfig, Trainer, iter_training

SMALL = RunConfig(task="adding", length=12, archs=("rnn", "lstm"), hidden_size=8, batch_size=16,
                  max_steps=30, eval_every=10, eval_size=64, probe_every=10, probe_size=4, trace_examples=2)


def run_to_end(config):
    trainer = Trainer(config)
    events = list(_drain(trainer))
    return trainer, events


def _drain(trainer):
    while not trainer.finished:
        yield trainer.train_step()


def test_same_seed_same_run_and_different_seed_differs():
    first, _ = run_to_end(SMALL)
    second, _ = run_to_end(SMALL)
    other, _ = run_to_end(replace(SMALL, seed=1))
    for arch in SMALL.archs:
        assert first.runs[arch].train_loss == second.runs[arch].train_loss
        assert first.runs[arch].eval_metric == second.runs[arch].eval_metric
        for name, tensor in first.runs[arch].model.state_dict().items():
            assert torch.equal(tensor, second.runs[arch].model.state_dict()[name])
        assert first.runs[arch].train_loss != other.runs[arch].train_loss


def test_architectures_see_identical_batches():
    # Training the LSTM alone or beside an RNN must give the same curve: same batches, independent models.
    together, _ = run_to_end(SMALL)
    alone, _ = run_to_end(replace(SMALL, archs=("lstm",)))
    assert together.runs["lstm"].train_loss == alone.runs["lstm"].train_loss


def test_events_and_checkpoints():
    trainer, events = run_to_end(SMALL)
    assert [e.step for e in events] == list(range(1, 31))
    assert [e.step for e in events if e.eval_metric] == [10, 20, 30]
    assert events[-1].finished and "step budget of 30 used" in events[-1].stop_reason
    assert all(e.steps_per_second > 0 and e.elapsed > 0 for e in events)
    for run in trainer.runs.values():
        assert run.status == "budget"
        assert [c.step for c in run.checkpoints] == [0, 10, 20, 30]
        assert run.eval_steps == [0, 10, 20, 30]
        assert run.eval_elapsed[0] == 0.0 and run.eval_elapsed == sorted(run.eval_elapsed)
        assert run.eval_elapsed[-1] <= trainer.elapsed
        assert run.checkpoints[-1].gradient_flow.grad_norm_per_step.shape == (1, 12)
        # The last checkpoint holds the final weights, the first the initial ones.
        assert all(torch.equal(v, run.model.state_dict()[k]) for k, v in run.checkpoints[-1].state_dict.items())
        assert not all(torch.equal(v, run.model.state_dict()[k]) for k, v in run.checkpoints[0].state_dict.items())


def test_iter_training_yields_every_step():
    assert [event.step for event in iter_training(replace(SMALL, max_steps=7))] == list(range(1, 8))


def test_divergence_stops_with_a_reason_and_no_exception():
    config = replace(SMALL, archs=("rnn",), optimizer="sgd", learning_rate=10.0, clip_grad_norm=None, max_steps=400,
                     length=30, hidden_size=32)
    trainer, events = run_to_end(config)
    run = trainer.runs["rnn"]
    assert run.status == "diverged", run.status_detail
    assert "lower the learning rate" in run.status_detail and "became" in run.status_detail
    assert events[-1].finished and events[-1].step < 400
    assert "diverged" in trainer.verdict()
    # Divergence never leaves a checkpoint with non-finite weights.
    assert all(torch.isfinite(t).all() for c in run.checkpoints for t in c.state_dict.values())


def test_stop_between_steps_and_advance_budget():
    trainer = Trainer(replace(SMALL, max_steps=1000))
    events = trainer.advance(max_steps=5)
    assert len(events) == 5 and trainer.step == 5
    trainer.advance(max_seconds=0.0)  # a zero time slice still makes progress: one step
    assert trainer.step == 6
    trainer.stop()
    assert trainer.finished and trainer.stop_reason == "stopped by the user"
    for run in trainer.runs.values():
        assert run.status == "stopped" and run.checkpoints[-1].step == 6
    with pytest.raises(RuntimeError):
        trainer.train_step()


def test_early_stop_when_solved(monkeypatch):
    trainer = Trainer(replace(SMALL, max_steps=100))
    # Any metric counts as solved, so each architecture stops at its first evaluation.
    monkeypatch.setattr(type(trainer.task), "solved_threshold", lambda self, length: math.inf)
    list(_drain(trainer))
    assert trainer.step == 10
    for run in trainer.runs.values():
        assert run.status == "solved" and run.solved_step == 10
    assert "solved T=12 at step 10" in trainer.verdict()


def test_patience_stops_a_plateau():
    trainer, _ = run_to_end(replace(SMALL, learning_rate=1e-6, max_steps=200, patience=2))
    for run in trainer.runs.values():
        assert run.status == "plateaued" and run.steps[-1] < 200


def test_checkpoints_are_thinned_but_keep_first_and_last():
    trainer, _ = run_to_end(replace(SMALL, probe_every=1, max_checkpoints=8, max_steps=40))
    steps = [c.step for c in trainer.runs["lstm"].checkpoints]
    assert len(steps) <= 9 and steps[0] == 0 and steps[-1] == 40 and steps == sorted(steps)


@pytest.mark.parametrize("change, message", [
    ({"hidden_size": 100_000}, "hidden size must be between 1 and 512"),
    ({"num_layers": 5}, "layers must be between 1 and 3"),
    ({"length": 1}, "length must be between"),
    ({"learning_rate": 0.0}, "learning rate must be between"),
    ({"learning_rate": float("nan")}, "learning rate must be between"),
    ({"batch_size": 0}, "batch size must be between"),
    ({"max_steps": 10**9}, "step budget must be between"),
    ({"archs": ()}, "pick at least one architecture"),
    ({"archs": ("lstm", "mamba")}, "unknown architecture 'mamba'"),
    ({"archs": ("transformer",), "hidden_size": 10, "heads": 3}, "must divide by its 3 attention heads"),
    ({"heads": 9}, "attention heads must be"),
    ({"positions": "rotary"}, "positions"),
    ({"archs": ("lstm", "lstm")}, "each architecture may be picked once"),
    ({"optimizer": "lbfgs"}, "unknown optimizer"),
    ({"clip_grad_norm": -1.0}, "clipping threshold must be between 0.01 and 100"),
    ({"dropout": 1.0}, "dropout must be in [0, 1)"),
])
def test_bad_settings_raise_a_clear_config_error(change, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        Trainer(replace(SMALL, **change))


def test_compute_budget_refuses_settings_that_would_not_feel_live():
    heavy = replace(SMALL, archs=("lstm",), hidden_size=512, num_layers=3, length=1000, batch_size=64)
    # By hand: 3 layers x 2 (fwd) x 3 (fwd+bwd) x 64 x 1000 x 2048 gate rows x (input + 512), input 2 then 512.
    expected = sum(6 * 64 * 1000 * 2048 * (d + 512) for d in (2, 512, 512)) / 1e9
    assert heavy.estimated_step_gflop() == pytest.approx(expected)
    with pytest.raises(ConfigError, match=r"needs about \d+ GFLOP per training step.*the limit is 60 GFLOP"):
        heavy.validate()
    replace(heavy, max_step_gflop=None).validate()  # scripts may lift the budget explicitly
    default = RunConfig()
    assert default.estimated_step_gflop() < 1.0
    for preset_config in (default, replace(default, archs=("rnn", "gru", "lstm"), length=200)):
        preset_config.validate()


def test_run_config_round_trips_through_a_dict():
    assert RunConfig.from_dict(SMALL.to_dict()) == SMALL


def test_run_config_key_is_one_canonical_json_for_equal_configs():
    """The caches key runs by it: equal settings, however written, give one key; any other setting another."""
    written = RunConfig(task="forecast", task_options={"series": "airline", "horizon": 1}, seed=3)
    reordered = RunConfig(task="forecast", task_options=(("horizon", 1), ("series", "airline")), seed=3)
    assert written.key() == reordered.key()
    assert replace(written, seed=4).key() != written.key()
    key = written.key()
    # A run without a Transformer leaves out its knobs, so recurrent runs keep the keys they had before it existed.
    transformer_only = {"heads", "positions"}
    assert " " not in key and list(json.loads(key)) == sorted(set(RunConfig.__dataclass_fields__) - transformer_only)
    assert json.loads(key)["task_options"] == [["horizon", 1], ["series", "airline"]]
    assert replace(written, heads=4).key() == key
    with_transformer = replace(written, archs=("lstm", "transformer"))
    assert replace(with_transformer, heads=4).key() != with_transformer.key()
    assert set(json.loads(with_transformer.key())) == set(RunConfig.__dataclass_fields__)


@pytest.mark.parametrize("final_metric, expected", [
    (0.40, "LSTM ended at 0.400, worse than the no-memory baseline 0.167"),
    (0.17, "LSTM stayed at 0.170, the no-memory baseline"),
    (0.05, "LSTM reached 0.050 (30% of the no-memory baseline 0.167) without solving it"),
])
def test_verdict_places_an_unsolved_run_against_the_baseline(final_metric, expected):
    trainer, _ = run_to_end(replace(SMALL, archs=("lstm",), max_steps=1))
    trainer.runs["lstm"].eval_metric[-1] = final_metric
    # A run that used its whole budget says so (max_steps=1 here), then where it stands.
    assert trainer.verdict() == "LSTM trained the whole budget of 1 step and " + expected.removeprefix("LSTM ") + "."


def _subnormal_survives() -> bool:
    # 1e-39 is below float32's smallest normal number (1.18e-38): kept as a subnormal, or flushed to 0.
    return bool((torch.tensor([1e-39], dtype=torch.float32) * 1.0).item() != 0.0)


def test_training_steps_flush_subnormals_and_leave_the_thread_as_it_was(monkeypatch):
    from lstm_viz.core import trainer as trainer_module

    seen_inside = []
    optimise = trainer_module.Trainer._optimise

    def watching(self, run, inputs, targets):
        seen_inside.append(_subnormal_survives())
        return optimise(self, run, inputs, targets)

    monkeypatch.setattr(trainer_module.Trainer, "_optimise", watching)
    assert _subnormal_survives()
    trainer = Trainer(SMALL)
    trainer.train_step()
    assert seen_inside == [False, False]  # both cells' steps ran with subnormals flushed
    # ... and the evaluations, probes and anything else this thread runs afterwards see them again.
    assert _subnormal_survives()


def test_cells_on_threads_of_their_own_train_exactly_as_in_turn():
    import threading

    config = replace(SMALL, archs=("rnn", "gru", "lstm"))
    in_turn, _ = run_to_end(config)
    before = threading.active_count()
    parallel = Trainer(config, cell_threads=3)
    assert parallel._pool is not None
    while not parallel.finished:
        parallel.train_step()
    assert parallel._pool is None and threading.active_count() == before  # a finished run leaves no thread behind
    for arch in config.archs:
        ours, theirs = parallel.runs[arch], in_turn.runs[arch]
        assert ours.train_loss == theirs.train_loss and ours.eval_metric == theirs.eval_metric
        assert ours.status_detail == theirs.status_detail
        for name, tensor in ours.model.state_dict().items():
            assert torch.equal(tensor, theirs.model.state_dict()[name])
        assert [c.step for c in ours.checkpoints] == [c.step for c in theirs.checkpoints]
        for mine, other in zip(ours.checkpoints, theirs.checkpoints):
            assert (mine.gradient_flow.grad_norm_per_step == other.gradient_flow.grad_norm_per_step).all()
            assert (mine.gradient_flow.input_grad_norm_per_step == other.gradient_flow.input_grad_norm_per_step).all()


def test_stopping_a_run_on_cell_threads_ends_them():
    import threading

    before = threading.active_count()
    trainer = Trainer(SMALL, cell_threads=2)
    trainer.train_step()
    trainer.stop()
    assert threading.active_count() == before


def test_dropout_between_layers_keeps_cells_in_turn():
    # Their masks come from torch's global generator: on parallel threads the draws would interleave differently.
    assert Trainer(replace(SMALL, num_layers=2, dropout=0.2), cell_threads=2)._pool is None
