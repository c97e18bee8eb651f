"""Task generators, losses and baselines against their analytic values."""
import math

import numpy as np
import pytest
import torch

from lstm_viz.rules.errors import ConfigError
from lstm_viz.core.tasks import TASKS, get_task
from lstm_viz.core.tasks.adding import ADDING
from lstm_viz.core.trainer import RunConfig
from lstm_viz.core.tasks.copy_memory import BLANK, DELIMITER, RECALL_COUNT, SYMBOL_COUNT


def test_adding_structure_and_target():
    task = get_task("adding")
    inputs, targets = task.generate(500, 30, torch.Generator().manual_seed(0))
    assert inputs.shape == (500, 30, 2) and targets.shape == (500, 1)
    markers = inputs[..., 1]
    assert torch.all(markers[:, :15].sum(1) == 1) and torch.all(markers[:, 15:].sum(1) == 1)
    expected = (inputs[..., 0] * markers).sum(1, keepdim=True)
    assert torch.allclose(targets, expected)


def test_adding_baseline_is_one_sixth_on_a_large_sample():
    task = get_task("adding")
    _, targets = task.generate(200_000, 10, torch.Generator().manual_seed(1))
    mse_of_predicting_one = task.metric(torch.ones_like(targets), targets)
    standard_error = float(((targets - 1) ** 2).std()) / math.sqrt(len(targets))
    assert task.baseline(10) == pytest.approx(1 / 6)
    assert abs(mse_of_predicting_one - 1 / 6) < 4 * standard_error
    # No constant does better: the mean of the sum is 1.
    assert abs(float(targets.mean()) - 1.0) < 0.005


@pytest.mark.parametrize("length", [5, 20, 100])
def test_copy_structure(length):
    task = get_task("copy")
    inputs, targets = task.generate(64, length, torch.Generator().manual_seed(2))
    tokens = inputs.argmax(-1)
    steps = length + 2 * RECALL_COUNT
    assert inputs.shape == (64, steps, SYMBOL_COUNT + 2) and targets.shape == (64, steps)
    assert torch.all(inputs.sum(-1) == 1)
    assert torch.all((tokens[:, :RECALL_COUNT] >= 1) & (tokens[:, :RECALL_COUNT] <= SYMBOL_COUNT))
    assert torch.all(tokens[:, length + RECALL_COUNT - 1] == DELIMITER)
    assert torch.all((tokens == DELIMITER).sum(1) == 1)
    assert torch.all(targets[:, -RECALL_COUNT:] == tokens[:, :RECALL_COUNT])
    assert torch.all(targets[:, :-RECALL_COUNT] == BLANK)


@pytest.mark.parametrize("length", [10, 100])
def test_copy_baseline_equals_memoryless_strategy(length):
    """Arjovsky et al. 2016: blanks with certainty, then uniform over 8 symbols -> 10 log 8 / (T + 20)."""
    task = get_task("copy")
    _, targets = task.generate(32, length, torch.Generator().manual_seed(3))
    logits = torch.full((32, length + 20, SYMBOL_COUNT + 1), -1e4)
    logits[:, :-RECALL_COUNT, BLANK] = 0.0
    logits[:, -RECALL_COUNT:, 1:] = 0.0  # uniform over the 8 symbols
    assert task.metric(logits, targets) == pytest.approx(10 * math.log(8) / (length + 20), rel=1e-6)
    assert task.baseline(length) == pytest.approx(10 * math.log(8) / (length + 20))
    assert task.solved_threshold(length) < task.baseline(length)


def test_copy_symbols_are_uniform():
    task = get_task("copy")
    inputs, _ = task.generate(20_000, 5, torch.Generator().manual_seed(4))
    counts = np.bincount(inputs.argmax(-1)[:, :RECALL_COUNT].flatten().numpy(), minlength=SYMBOL_COUNT + 1)[1:]
    expected = 20_000 * RECALL_COUNT / SYMBOL_COUNT
    chi_square = float(((counts - expected) ** 2 / expected).sum())
    assert chi_square < 24.3  # 99.9th percentile of chi-square with 7 degrees of freedom


@pytest.mark.parametrize("name", sorted(TASKS))
def test_generators_are_seeded(name):
    task = get_task(name)
    first = task.generate(8, 12, torch.Generator().manual_seed(7))
    again = task.generate(8, 12, torch.Generator().manual_seed(7))
    other = task.generate(8, 12, torch.Generator().manual_seed(8))
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not torch.equal(first[0], other[0])
    channels = task.input_channels(first[0][0].numpy())
    assert channels and all(series.shape == (task.sequence_length(12),) for series in channels.values())


@pytest.mark.parametrize("task", [t for t in TASKS.values() if not getattr(t, "option_names", ())], ids=lambda t: t.name)
def test_tasks_without_options_refuse_them(task):
    assert task.with_options() is task
    with pytest.raises(ConfigError):
        task.with_options(series="airline")
    with pytest.raises(ConfigError):
        RunConfig(task=task.name, task_options={"bogus": 1}).validate()


def test_adding_features_follow_the_marked_values():
    inputs, targets = ADDING.generate(3, 20, torch.Generator().manual_seed(5))
    example = inputs[0].numpy()
    features = ADDING.features(example)
    assert features["running sum of marked values"][-1] == pytest.approx(float(targets[0, 0]), abs=1e-6)
    assert list(features["markers seen so far"][[0, -1]]) in ([0, 2], [1, 2])
    assert "t=" in ADDING.describe_example(example, targets[0].numpy())
