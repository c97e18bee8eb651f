"""A saved run reads back as the same run: histories, every checkpoint's weights and gradient probe, verdict."""
import math

import numpy as np
import pytest
import torch

from lstm_viz.runs.bundled import BUNDLED_RUNS, EXPLORER_RUN, bundled_run_path, load_bundled_run
from lstm_viz.rules.errors import ModelFileError
from lstm_viz.runs.runstore import load_run_state, save_run_state
from lstm_viz.core.trainer import RunConfig, Trainer


def _trained(**overrides) -> Trainer:
    config = RunConfig(**{"length": 12, "archs": ("rnn", "gru", "lstm"), "hidden_size": 6, "max_steps": 60,
                          "eval_every": 10, "probe_every": 20, "probe_size": 4, "eval_size": 32, **overrides})
    trainer = Trainer(config)
    while not trainer.finished:
        trainer.train_step()
    return trainer


def test_a_saved_run_reads_back_identically(tmp_path):
    trainer = _trained()
    restored = load_run_state(save_run_state(trainer, tmp_path / "run"))
    assert restored.config == trainer.config
    assert restored.step == trainer.step and restored.verdict() == trainer.verdict()
    for arch, run in trainer.runs.items():
        again = restored.runs[arch]
        assert (again.steps, again.train_loss, again.eval_metric, again.status) == (run.steps, run.train_loss, run.eval_metric, run.status)
        assert [c.step for c in again.checkpoints] == [c.step for c in run.checkpoints] == [0, 20, 40, 60]
        for saved, loaded in zip(run.checkpoints, again.checkpoints):
            assert saved.state_dict.keys() == loaded.state_dict.keys()
            assert all(torch.equal(saved.state_dict[k], loaded.state_dict[k]) for k in saved.state_dict)
            np.testing.assert_array_equal(saved.gradient_flow.grad_norm_per_step, loaded.gradient_flow.grad_norm_per_step)
            assert (loaded.gradient_flow.forget_product_per_step is None) == (arch != "lstm")
        # The restored live model holds the last checkpoint, so it predicts what the trained one did.
        with torch.no_grad():
            torch.testing.assert_close(again.model(trainer.probe_inputs), run.model(trainer.probe_inputs), rtol=0, atol=0)


def test_a_saved_run_with_a_transformer_reads_back_with_its_knobs_weights_and_probes(tmp_path):
    trainer = _trained(archs=("lstm", "transformer"), heads=3, positions="learned")
    restored = load_run_state(save_run_state(trainer, tmp_path / "run"))
    assert restored.config == trainer.config and (restored.config.heads, restored.config.positions) == (3, "learned")
    assert restored.verdict() == trainer.verdict()
    run, again = trainer.runs["transformer"], restored.runs["transformer"]
    assert [c.step for c in again.checkpoints] == [c.step for c in run.checkpoints]
    for saved, loaded in zip(run.checkpoints, again.checkpoints):
        assert all(torch.equal(saved.state_dict[k], loaded.state_dict[k]) for k in saved.state_dict)
        np.testing.assert_array_equal(saved.gradient_flow.grad_norm_per_step, loaded.gradient_flow.grad_norm_per_step)
    with torch.no_grad():
        torch.testing.assert_close(again.model(trainer.probe_inputs), run.model(trainer.probe_inputs), rtol=0, atol=0)


def test_task_options_and_non_finite_histories_survive(tmp_path):
    trainer = _trained(task="forecast", task_options={"series": "sine"}, length=24, archs=("rnn",), max_steps=3,
                       learning_rate=10.0, optimizer="sgd", clip_grad_norm=None, eval_every=1, probe_every=3)
    trainer.runs["rnn"].train_loss[-1] = math.inf  # as a diverged run records it
    trainer.runs["rnn"].eval_metric[-1] = math.nan
    restored = load_run_state(save_run_state(trainer, tmp_path / "run"))
    assert restored.config.task_options == (("series", "sine"),)
    # The restored run trains and evaluates on the same series (the option is data, not a label).
    np.testing.assert_array_equal(restored.config.make_task().series.values, trainer.config.make_task().series.values)
    assert restored.config.make_task().series.values.tolist() != RunConfig(task="forecast", length=24).make_task().series.values.tolist()
    assert restored.runs["rnn"].train_loss[-1] == math.inf
    assert math.isnan(restored.runs["rnn"].eval_metric[-1])


def test_a_folder_that_is_not_a_run_is_refused(tmp_path):
    (tmp_path / "run.json").write_text('{"format": "something else"}')
    with pytest.raises(ModelFileError):
        load_run_state(tmp_path)
    with pytest.raises(ModelFileError):
        load_run_state(tmp_path / "missing")


@pytest.mark.parametrize("name", sorted(BUNDLED_RUNS))
def test_bundled_runs_ship_and_match_their_config(name):
    """scripts/precompute_runs.py wrote them from BUNDLED_RUNS; a changed config needs a regenerated folder."""
    assert (bundled_run_path(name) / "run.json").is_file(), "run python scripts/precompute_runs.py"
    trainer = load_bundled_run(name)
    assert trainer.config == BUNDLED_RUNS[name]
    assert all(len(run.checkpoints) >= 2 for run in trainer.runs.values())


def test_the_explorer_run_shows_the_headline():
    trainer = load_bundled_run(EXPLORER_RUN)
    assert trainer.runs["lstm"].solved_step is not None
    assert trainer.runs["rnn"].solved_step is None
