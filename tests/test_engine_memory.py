"""lstm_viz.analysis.memory against independent computations: np.corrcoef, hand-counted gate values from a step loop of
PyTorch's own cells, brute-force span statistics, and (when SciPy happens to be installed) SciPy's linkage."""
import numpy as np
import pytest
import torch

from lstm_viz.analysis import memory
from lstm_viz.core.architectures import ARCHITECTURES, RECURRENT_ARCHITECTURES, layer_params
from lstm_viz.rules.errors import ConfigError, UploadError
from lstm_viz.core.model import ModelConfig, build_model
from lstm_viz.core.tasks import get_task
from lstm_viz.core.trainer import Checkpoint, RunConfig, Trainer
from tests.fake_text_task import FAKE_BRACKETS


def adding_inputs(count=12, length=30, seed=0) -> np.ndarray:
    inputs, _ = get_task("adding").generate(count, length, torch.Generator().manual_seed(seed))
    return inputs.numpy()


# ----- neuron search -----
def test_correlation_ranking_finds_a_planted_unit_that_copies_a_feature():
    task = get_task("adding")
    inputs = adding_inputs()
    feature = memory.feature_matrix(task, inputs, "running sum of marked values")  # (B, T)
    rng = np.random.default_rng(1)
    states = rng.normal(size=(*feature.shape, 20))
    states[..., 13] = -3.0 * feature + 0.05 * rng.normal(size=feature.shape)  # a unit holding minus the sum
    scores = memory.feature_correlations(states, feature)
    assert memory.top_units(scores, 3)[0] == 13
    assert scores[13] < -0.99
    expected = [np.corrcoef(states[..., unit].ravel(), feature.ravel())[0, 1] for unit in range(20)]
    np.testing.assert_allclose(scores, expected, atol=1e-12)


def test_feature_matrix_is_the_tasks_feature_of_each_sequence():
    task = get_task("adding")
    inputs = adding_inputs(count=3)
    matrix = memory.feature_matrix(task, inputs, "markers seen so far")
    for row, sequence in zip(matrix, inputs):
        np.testing.assert_array_equal(row, np.cumsum(sequence[:, 1]))
        assert row[-1] == 2
    with pytest.raises(ConfigError, match="no feature"):
        memory.feature_matrix(task, inputs, "nesting depth")


def test_a_flat_unit_scores_zero_and_a_flat_feature_is_refused():
    states = np.random.default_rng(0).normal(size=(2, 10, 3))
    states[..., 1] = 0.7
    feature = np.arange(20.0).reshape(2, 10)
    scores = memory.feature_correlations(states, feature)
    assert scores[1] == 0.0 and np.all(np.isfinite(scores))
    with pytest.raises(ConfigError, match="constant"):
        memory.feature_correlations(states, np.ones((2, 10)))


def test_span_contrast_and_match_against_direct_counts():
    rng = np.random.default_rng(2)
    state = rng.normal(scale=0.1, size=(40, 5))
    state[10:20, 3] = 1.0  # on exactly inside the span
    state[10:20, 1] = -1.0  # off... but strongly negative inside: the match with sign -1
    state[5:25, 4] = 1.0  # on over a wider stretch
    start, end = 10, 19
    contrast = memory.span_contrast(state, start, end)
    for unit in range(5):
        inside = [state[t, unit] for t in range(40) if start <= t <= end]
        outside = [state[t, unit] for t in range(40) if not start <= t <= end]
        assert contrast[unit] == pytest.approx(sum(inside) / len(inside) - sum(outside) / len(outside))
    match = memory.span_match(state, start, end, threshold=0.5)
    assert match[3] == 1.0 and match[1] == -1.0
    assert match[4] == pytest.approx(10 / 20)  # on for 20 steps, 10 of them inside
    assert abs(match[0]) < 0.2
    assert list(memory.top_units(match, 3)[:2]) == [1, 3]  # equal |score|: lower index first
    with pytest.raises(ConfigError, match="every step"):
        memory.span_contrast(state, 0, 39)
    with pytest.raises(ConfigError, match="within"):
        memory.span_contrast(state, 30, 45)


# ----- orderings -----
def grouped_profiles(seed=0):
    """Three groups of units with identical (or positively scaled) traces, interleaved, plus one flat unit."""
    rng = np.random.default_rng(seed)
    bases = rng.normal(size=(3, 50))
    labels = [0, 1, 2, 0, 1, 2, 0, 1, 2, 0]
    profiles = np.stack([bases[g] * (1 + unit) + unit for unit, g in enumerate(labels)])
    profiles = np.vstack([profiles, np.full((1, 50), 4.0)])
    return profiles, labels + [3]


def test_clustering_is_a_permutation_that_puts_identical_units_side_by_side():
    profiles, labels = grouped_profiles()
    order = memory.cluster_order(profiles)
    assert sorted(order.tolist()) == list(range(len(labels)))
    grouped = [labels[unit] for unit in order]
    # Each group forms one contiguous block.
    blocks = [grouped[0]] + [g for previous, g in zip(grouped, grouped[1:]) if g != previous]
    assert sorted(blocks) == [0, 1, 2, 3]
    assert np.array_equal(order, memory.cluster_order(profiles))  # deterministic


def brute_force_average_linkage_order(profiles: np.ndarray) -> list[int]:
    """UPGMA the slow way, independent of SciPy and of memory.correlation_distance: distances 1 - Pearson r from
    np.corrcoef, and at each step the two clusters whose members are closest on average (every pair recomputed from
    the unit distances) merge, the one holding the lower unit index first."""
    distance = 1.0 - np.corrcoef(profiles)
    clusters = [[unit] for unit in range(len(profiles))]
    while len(clusters) > 1:
        pairs = [(i, j) for i in range(len(clusters)) for j in range(i + 1, len(clusters))]
        i, j = min(pairs, key=lambda pair: distance[np.ix_(clusters[pair[0]], clusters[pair[1]])].mean())
        left, right = clusters[i], clusters[j]
        merged = left + right if min(left) < min(right) else right + left
        clusters = [c for k, c in enumerate(clusters) if k not in (i, j)] + [merged]
    return clusters[0]


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_clustered_order_is_average_linkage_computed_the_slow_way(seed):
    profiles = np.random.default_rng(seed).normal(size=(12, 30))  # no two merges at the same height
    assert memory.cluster_order(profiles).tolist() == brute_force_average_linkage_order(profiles)


@pytest.mark.parametrize("method", list(memory.ORDERINGS))
@pytest.mark.parametrize("arch", ["rnn", "gru", "lstm"])
def test_every_ordering_is_a_permutation_for_every_cell(method, arch):
    model = build_model(ModelConfig(arch=arch, input_size=2, hidden_size=9, output_size=1), seed=0)
    arrays = memory.trace_at(model, Checkpoint(0, model.state_dict(), None, None), adding_inputs(1, 25)).layers[0]
    order = memory.unit_order(method, {name: values[0] for name, values in arrays.items()})
    assert sorted(order.tolist()) == list(range(9))


def test_peak_time_and_forget_gate_orders():
    state = np.zeros((6, 3))
    state[4, 0], state[1, 1], state[2, 2] = 1.0, -2.0, 0.5
    assert memory.peak_time_order(state).tolist() == [1, 2, 0]
    forget = np.array([[0.2, 0.9, 0.5]] * 4)
    assert memory.keep_gate_order(forget).tolist() == [1, 2, 0]
    arrays = {"hidden_state": state, "preactivation": state}
    assert memory.unit_order("forget", arrays).tolist() == [0, 1, 2]  # no forget gate: index order
    with pytest.raises(ConfigError):
        memory.unit_order("alphabetical", arrays)


# ----- saturation -----
def hand_counted_gates(arch: str, params: dict, inputs: np.ndarray) -> dict[str, list[float]]:
    """Every gate value of a float64 step loop of PyTorch's own cell, the gates from the textbook equations."""
    p = {name: value.detach().double() for name, value in params.items()}
    hidden_size = p["weight_hh"].shape[1]
    cell = ARCHITECTURES[arch].cell_class(inputs.shape[-1], hidden_size).double()
    cell.load_state_dict(p)
    values: dict[str, list[float]] = {}
    with torch.no_grad():
        for sequence in torch.as_tensor(inputs, dtype=torch.float64):
            h = torch.zeros(1, hidden_size, dtype=torch.float64)
            c = torch.zeros_like(h)
            for x in sequence:
                x = x[None]
                z_in = x @ p["weight_ih"].T + p["bias_ih"]
                z_h = h @ p["weight_hh"].T + p["bias_hh"]
                if arch == "lstm":
                    zi, zf, _, zo = (z_in + z_h).split(hidden_size, dim=1)
                    gates = {"input_gate": zi, "forget_gate": zf, "output_gate": zo}
                    h, c = cell(x, (h, c))
                else:
                    zr, zz, _ = (z_in + z_h).split(hidden_size, dim=1)
                    gates = {"reset_gate": zr, "update_gate": zz}
                    h = cell(x, h)
                for name, z in gates.items():
                    values.setdefault(name, []).extend((1.0 / (1.0 + torch.exp(-z))).ravel().tolist())
    return values


@pytest.mark.parametrize("arch", ["gru", "lstm"])
def test_saturation_fractions_match_a_direct_count(arch):
    model = build_model(ModelConfig(arch=arch, input_size=2, hidden_size=7, output_size=1), seed=4)
    inputs = adding_inputs(count=5, length=20, seed=5)
    initial = {name: value.clone() for name, value in model.state_dict().items()}
    # Large weights push the gates into saturation, so the fractions are far from 0 and differ per checkpoint.
    scaled = {name: value * 6.0 for name, value in initial.items()}
    checkpoints = [Checkpoint(0, initial, None, None), Checkpoint(50, scaled, None, None)]
    history = memory.saturation_over_training(model, checkpoints, torch.as_tensor(inputs))
    assert history.steps == [0, 50] and history.gates == ARCHITECTURES[arch].gate_names
    for row, checkpoint in enumerate(checkpoints):
        model.load_state_dict(checkpoint.state_dict)
        counted = hand_counted_gates(arch, layer_params(model.recurrent, 0), inputs)
        for column, gate in enumerate(history.gates):
            values = counted[gate]
            low = sum(v < 0.1 for v in values) / len(values)
            high = sum(v > 0.9 for v in values) / len(values)
            # float32 against float64: a value within 1e-6 of a threshold may fall on the other side.
            assert history.low[row, column] == pytest.approx(low, abs=1.5 / len(values))
            assert history.high[row, column] == pytest.approx(high, abs=1.5 / len(values))
    assert history.high[1].sum() + history.low[1].sum() > 0.3


# ----- examples -----
def tiny_trainer() -> Trainer:
    config = RunConfig(task="adding", length=10, archs=("lstm",), hidden_size=4, batch_size=4, max_steps=2,
                       eval_size=8, probe_size=4, trace_examples=2)
    return Trainer(config)


def test_test_examples_come_from_the_test_set_with_their_description():
    trainer = tiny_trainer()
    example = memory.test_example(trainer, 7)
    np.testing.assert_array_equal(example.inputs, trainer.test_inputs[7].numpy())
    assert example.source == "test" and example.tokens is None
    assert example.description.startswith("Marked values:")
    with pytest.raises(ConfigError, match="examples 1 to 8"):
        memory.test_example(trainer, 8)


def test_typed_text_is_encoded_by_the_task_and_refused_by_tasks_without_text():
    example = memory.text_example(FAKE_BRACKETS, "(a(x))")
    assert example.inputs.shape == (6, 4) and example.tokens == list("(a(x))") and example.unknown == (3,)
    assert "1 token(s) unknown" in example.description
    depth = FAKE_BRACKETS.features(example.inputs)["nesting depth"]
    assert depth.tolist() == [1, 1, 2, 2, 1, 0]
    with pytest.raises(UploadError):
        memory.text_example(FAKE_BRACKETS, "   ")
    with pytest.raises(ConfigError, match="does not take typed input"):
        memory.text_example(get_task("adding"), "0.5 1")


def test_memory_units_are_those_with_the_highest_forget_gate():
    forget = np.full((20, 6), 0.4)
    forget[:, 5] = 0.99
    forget[:, 2] = 0.9
    np.testing.assert_array_equal(memory.memory_units(forget, 2), [5, 2])


def test_most_active_units_break_ties_by_the_lower_index():
    # Units 0, 1 and 2 swing by the same amount (std 0.5 each), unit 3 twice as much, unit 4 not at all.
    state = np.array([[0.0, 1.0, 0.0, 2.0, 7.0],
                      [1.0, 0.0, 1.0, 0.0, 7.0]])
    np.testing.assert_array_equal(memory.most_active_units(state, 3), [3, 0, 1])
    np.testing.assert_array_equal(memory.most_active_units(state, 5), [3, 0, 1, 2, 4])
    np.testing.assert_array_equal(memory.most_active_units(state[:, ::-1], 2), [1, 2])  # units 2, 3, 4 reversed


def test_memory_units_break_ties_by_the_lower_index():
    forget = np.array([[0.9, 0.5, 0.9, 0.5],
                       [0.7, 0.5, 0.7, 0.5]])  # units 0 and 2 both average 0.8
    np.testing.assert_array_equal(memory.memory_units(forget, 3), [0, 2, 1])
