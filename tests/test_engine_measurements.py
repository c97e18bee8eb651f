"""The measured comparisons with the Transformer: the cost bench's points and JSON, the crossovers and fits computed
from them, the streaming state counted from a config against a hand count and against the modules' own tensors, and
the quick length-generalisation run scored again here with each task's rule written out by hand."""
import json
import math

import pytest
import torch

from bench import length_generalisation, transformer_cost
from lstm_viz.core.architectures.transformer import attention_parts
from lstm_viz.core.model import ModelConfig, build_model
from lstm_viz.core.streaming import streaming_state
from lstm_viz.core.tasks import get_task
from lstm_viz.core.trainer import TEST_SEED_OFFSET
from lstm_viz.rules.errors import LstmVizError
from lstm_viz.runs import measurements
from tests.engine_support import one_torch_thread  # noqa: F401


def synthetic_cost(values: dict[str, list[float]], lengths=(10, 100, 1000), quantity="cpu_seconds_per_step") -> dict:
    return {"archs": list(values), "lengths": list(lengths), "points": [
        {"arch": arch, "length": length, quantity: value} for arch, row in values.items()
        for length, value in zip(lengths, row)]}


# ----- the cost bench -----
def test_the_cost_bench_writes_points_in_their_own_processes_with_every_field_the_page_reads(tmp_path):
    cost = transformer_cost.measure_grid(lengths=(10,), archs=("lstm", "transformer"), rounds=1, log=lambda *a, **k: None)
    path = tmp_path / "cost.json"
    path.write_text(json.dumps(cost))
    loaded = measurements.load_cost(path)  # the page's reader accepts what the bench wrote
    assert loaded["settings"]["torch_threads"] == 1 and not loaded["busy_core"]
    points = loaded["points"]
    assert [(point["arch"], point["length"]) for point in points] == [("lstm", 10), ("transformer", 10)]
    for point in points:
        assert point["seconds_per_step"] > 0 and point["cpu_seconds_per_step"] > 0
        assert point["peak_rss_mb"] > 0 and point["steps_timed"] >= 3
        assert point["seconds_per_step"] == min(point["round_seconds_per_step"])
        assert point["cpu_seconds_per_step"] == min(point["round_cpu_seconds_per_step"])
    # Parameters at H = 64, counted here: the LSTM's 4 gates over [x, h] plus two biases, and a readout of 1.
    hidden, inputs = transformer_cost.SETTINGS["hidden_size"], get_task("adding").input_size
    assert points[0]["parameters"] == 4 * hidden * (inputs + hidden) + 8 * hidden + hidden + 1
    # The Transformer: input projection, one block (q, k, v, out, two norms, a 4x feed-forward), final norm, readout.
    block = 4 * hidden * hidden + 4 * hidden + 2 * 2 * hidden + 2 * 4 * hidden * hidden + 4 * hidden + hidden
    assert points[1]["parameters"] == inputs * hidden + hidden + block + 2 * hidden + hidden + 1
    assert "| 10 |" in transformer_cost.report(loaded)


def test_the_shipped_cost_measurement_has_every_point_and_its_machine_and_load():
    cost = measurements.load_cost()
    assert set(cost["archs"]) == {"rnn", "gru", "lstm", "transformer"}
    assert cost["lengths"] == [25, 50, 100, 250, 500, 1000]
    assert {(p["arch"], p["length"]) for p in cost["points"]} == {(a, t) for a in cost["archs"] for t in cost["lengths"]}
    assert cost["settings"]["torch_threads"] == 1 and cost["settings"]["hidden_size"] == 64
    assert len(cost["load_average_before"]) == 3 and cost["machine"]["cores"] >= 1
    raw = json.loads(measurements.COST_PATH.read_text())
    lstm = {p["length"]: p["cpu_seconds_per_step"] for p in raw["points"] if p["arch"] == "lstm"}
    for point in raw["points"]:
        ratio = measurements.ratio_to(cost, point["arch"], "lstm", "cpu_seconds_per_step")[point["length"]]
        assert ratio == point["cpu_seconds_per_step"] / lstm[point["length"]]


def test_a_measurement_missing_a_field_is_refused_by_name(tmp_path):
    path = tmp_path / "cost.json"
    cost = measurements.load_cost()
    del cost["points"][3]["peak_rss_mb"]
    path.write_text(json.dumps(cost))
    with pytest.raises(LstmVizError, match=r"points\[\].peak_rss_mb"):
        measurements.load_cost(path)


def test_the_crossover_is_where_the_ratio_passes_one_for_good_on_log_axes():
    # Ratio 0.5 at T=100 and 2 at T=1000: log ratio crosses 0 half-way in log T, at sqrt(100 * 1000).
    cost = synthetic_cost({"lstm": [1.0, 1.0, 1.0], "transformer": [1.5, 0.5, 2.0]})
    found = measurements.crossover(cost, "transformer", "lstm", "cpu_seconds_per_step")
    assert (found.below, found.above) == (100, 1000)
    assert found.length == pytest.approx(math.sqrt(100 * 1000))
    dearer = measurements.crossover(synthetic_cost({"lstm": [1, 1, 1], "transformer": [2, 3, 4]}),
                                    "transformer", "lstm", "cpu_seconds_per_step")
    assert dearer.below is None and dearer.above == 10 and dearer.length is None
    never = measurements.crossover(synthetic_cost({"lstm": [1, 1, 1], "transformer": [0.5, 0.5, 0.9]}),
                                   "transformer", "lstm", "cpu_seconds_per_step")
    assert never.below == 1000 and never.above is None and never.length is None


def test_the_quadratic_fit_recovers_known_terms_and_their_balance():
    lengths = (25, 50, 100, 250, 500, 1000)
    cost = synthetic_cost({"transformer": [0.002 + 3e-5 * t + 6e-8 * t * t for t in lengths]}, lengths)
    fit = measurements.quadratic_fit(cost, "transformer", "cpu_seconds_per_step")
    assert (fit.constant, fit.linear, fit.quadratic) == pytest.approx((0.002, 3e-5, 6e-8), rel=1e-6)
    assert fit.balance == pytest.approx(3e-5 / 6e-8, rel=1e-6)


# ----- streaming state -----
@pytest.mark.parametrize("layers", [1, 2])
def test_streaming_state_against_a_hand_count_and_the_modules_own_tensors(layers):
    hidden, steps = 8, 13
    expected = {"rnn": layers * hidden, "gru": layers * hidden, "lstm": 2 * layers * hidden,
                "transformer": 2 * layers * steps * hidden}
    inputs = torch.randn(1, steps, 2)
    for arch, count in expected.items():
        config = ModelConfig("transformer" if arch == "transformer" else arch, input_size=2, output_size=1,
                             hidden_size=hidden, num_layers=layers)
        state = streaming_state(config, steps)
        assert state.floats == count and state.bytes == 4 * count
        assert state.grows_with_steps == (arch == "transformer")
        model = build_model(config, seed=0).eval()
        with torch.no_grad():
            if arch == "transformer":
                # What a key-value cache holds: every position's key and value in every block.
                hidden_states, cached = model.transformer.embed_positions(inputs), 0
                for block in model.transformer.layers:
                    parts = attention_parts(block, hidden_states)
                    cached += parts["key"].numel() + parts["value"].numel()
                    hidden_states = parts["hidden_state"]
                assert cached == count
            else:
                _, final = model.recurrent(inputs)
                carried = final if isinstance(final, torch.Tensor) else torch.cat(final)
                assert carried.numel() == count


# ----- length generalisation -----
def hand_metric(task_name: str, outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Each task's metric written out: the adding problem's mean squared error, and for the per-step tasks the mean
    over examples and steps of -log softmax(logits)[target]."""
    if task_name == "adding":
        return float(((outputs.double() - targets.double()) ** 2).mean())
    log_probabilities = torch.log_softmax(outputs.double(), dim=-1)
    return float(-log_probabilities.gather(-1, targets.unsqueeze(-1)).mean())


def hand_baseline(task_name: str, length: int) -> float:
    if task_name == "adding":
        return 1 / 6  # Var(U1 + U2)
    if task_name == "copy":
        return 10 * math.log(8) / (length + 20)  # ten uniform guesses over 8 symbols in T + 20 steps
    return get_task(task_name).baseline(length)  # brackets: exact dynamic programming over the chain


@pytest.fixture(scope="module")
def quick_run():
    return length_generalisation.measure(length_generalisation.QUICK_SETUPS, seed=0, log=lambda *a, **k: None)


def test_the_quick_run_has_a_row_for_every_task_architecture_and_length(quick_run):
    result, models = quick_run
    expected = {(setup.task, variant, factor * setup.length) for setup in length_generalisation.QUICK_SETUPS
                for variant in length_generalisation.VARIANTS for factor in (1, 2, 4)}
    assert {(row["task"], row["variant"], row["length"]) for row in result["rows"]} == expected
    assert len(result["rows"]) == len(expected) == 3 * 5 * 3
    assert set(models) == {(task, variant) for task, variant, _ in expected}
    for row in result["rows"]:
        assert set(measurements.GENERALISATION_ROW_FIELDS) <= set(row)
        assert row["steps_trained"] == 6 and row["length"] == row["factor"] * row["train_length"]


def test_every_quick_row_is_the_task_s_own_metric_on_fresh_data_at_that_length(quick_run):
    result, models = quick_run
    for row in result["rows"]:
        task = get_task(row["task"])
        inputs, targets = task.generate(16, row["length"], torch.Generator().manual_seed(TEST_SEED_OFFSET),
                                        split="test")
        with torch.no_grad():
            outputs = models[row["task"], row["variant"]].eval()(inputs)
        assert row["metric"] == pytest.approx(hand_metric(row["task"], outputs, targets), rel=1e-5)
        assert row["baseline"] == pytest.approx(hand_baseline(row["task"], row["length"]))
        floor = task.metric_floor(row["length"])
        assert row["relative"] == pytest.approx((row["metric"] - floor) / (row["baseline"] - floor), rel=1e-5)
    learned = [row for row in result["rows"] if row["variant"] == "transformer-learned" and row["factor"] == 4]
    assert len(learned) == 3  # the learned table covers 4T, so no length was skipped


def test_the_shipped_length_generalisation_table_is_the_full_run():
    result = measurements.load_length_generalisation()
    setups = {setup.task: setup for setup in length_generalisation.FULL_SETUPS}
    assert {row["task"] for row in result["rows"]} == set(setups)
    for row in result["rows"]:
        assert row["train_length"] == setups[row["task"]].length
        assert row["baseline"] == pytest.approx(hand_baseline(row["task"], row["length"]))
    assert len(result["rows"]) == len(setups) * len(length_generalisation.VARIANTS) * 3
