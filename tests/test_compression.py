"""The compression engine (lstm_viz/compression) on tiny models: ONNX against PyTorch, int8 against float32, the
pruned fraction, the files on disk against the report, and the refusal of a Transformer.

The int8 tolerance was measured, not read from the code: untrained H=8 models (RNN, GRU, LSTM; 1 and 2 layers;
seeds 0-4) on 64 adding sequences of T=20 moved their outputs by at most 0.0052 under torch.ao's dynamic int8 and
0.0028 under onnxruntime's (outputs of order 1). The tests allow 0.01, about twice the worst measured."""
import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from lstm_viz.compression import onnx_variants, pruning, quantisation
from lstm_viz.compression.deployable import DeployableModel, deployable
from lstm_viz.compression.gate_shift import gate_shift
from lstm_viz.compression.latency import Timing
from lstm_viz.compression.report import compress_model, rows_json
from lstm_viz.core.model import ModelConfig, build_model
from lstm_viz.core.tasks import get_task
from lstm_viz.core.traces import trace
from lstm_viz.rules.errors import ConfigError

INT8_TOLERANCE = 0.01
ONNX_TOLERANCE = 1e-5
CELLS = ("rnn", "gru", "lstm")
TINY_TIMING = Timing(repeats=3, warmup=1, streaming_repeats=1)


def tiny_model(arch: str, layers: int = 1, task: str = "adding", seed: int = 0):
    return build_model(ModelConfig.for_task(arch, get_task(task), hidden_size=8, num_layers=layers), seed).eval()


def adding_inputs(count: int = 32, length: int = 20):
    return get_task("adding").generate(count, length, torch.Generator().manual_seed(11), split="test")


@pytest.mark.parametrize("layers", (1, 2))
@pytest.mark.parametrize("arch", CELLS)
def test_onnx_outputs_match_pytorch_within_1e_5_at_any_batch_and_length(tmp_path, arch, layers):
    model = tiny_model(arch, layers)
    path = onnx_variants.export_onnx(deployable(model), adding_inputs(1)[0], tmp_path / "model.onnx")
    runner = onnx_variants.OnnxRunner(path)
    for count, length in ((1, 20), (3, 20), (5, 33)):  # the graph was traced at batch 1, T = 20
        inputs, _ = adding_inputs(count, length)
        with torch.no_grad():
            expected = model(inputs)  # the training module itself, not the deployable copy
        assert (runner(inputs) - expected).abs().max() <= ONNX_TOLERANCE


@pytest.mark.parametrize("arch", CELLS)
def test_the_onnx_graphs_stream_one_step_at_a_time_to_the_whole_sequences_output(tmp_path, arch):
    model = tiny_model(arch, layers=2)
    inputs, _ = adding_inputs(3)
    float_path = onnx_variants.export_onnx(deployable(model), inputs[:1], tmp_path / "model.onnx")
    with torch.no_grad():
        expected = model(inputs)
    for path, tolerance in ((float_path, ONNX_TOLERANCE),
                            (onnx_variants.quantise_onnx(float_path, tmp_path / "q.onnx"), INT8_TOLERANCE)):
        runner, state = onnx_variants.OnnxRunner(path), None
        for t in range(inputs.shape[1]):
            output, state = runner.step(inputs[:, t : t + 1], state)
        assert (output - expected).abs().max() <= tolerance
        # The same graph streamed or whole: equal in float32; in int8 the inputs' scale is computed per call (all
        # steps at once, or one), so the two differ a little (3e-4 measured for this LSTM).
        assert (output - runner(inputs)).abs().max() <= tolerance


def test_the_deployable_model_gives_the_trained_models_outputs_and_steps_to_the_same_end():
    inputs, _ = adding_inputs(4)
    for arch in CELLS:
        model = tiny_model(arch, layers=2)
        plain = deployable(model)
        with torch.no_grad():
            whole = plain(inputs)
            assert (whole - model(inputs)).abs().max() < 1e-6
            state, output = None, None
            for t in range(inputs.shape[1]):
                output, state = plain.step(inputs[:, t : t + 1], state)
        assert (output - whole).abs().max() < 1e-6


def test_a_task_with_a_prediction_at_every_step_compresses_at_another_length(tmp_path):
    task = get_task("copy")
    model = build_model(ModelConfig.for_task("gru", task, hidden_size=8), 0).eval()
    inputs, targets = task.generate(8, 12, torch.Generator().manual_seed(3), split="test")
    rows = compress_model(model, task, inputs, targets, tmp_path, timing=TINY_TIMING)
    by_variant = {row.variant: row for row in rows}
    assert by_variant["ONNX float32"].max_abs_diff <= ONNX_TOLERANCE
    longer, _ = task.generate(2, 20, torch.Generator().manual_seed(4), split="test")
    runner = onnx_variants.OnnxRunner(tmp_path / by_variant["ONNX float32"].file)
    with torch.no_grad():
        expected = model(longer)
    assert runner(longer).shape == expected.shape
    assert (runner(longer) - expected).abs().max() <= ONNX_TOLERANCE
    import onnx  # the graph declares the steps of its outputs free, not fixed at the traced length

    declared = onnx.load(str(tmp_path / by_variant["ONNX float32"].file)).graph.output[0].type.tensor_type.shape
    assert [dim.dim_param or dim.dim_value for dim in declared.dim][:2] == ["batch", "steps"]


def test_a_word_task_embedding_becomes_a_linear_layer_with_the_same_outputs():
    model = tiny_model("lstm", task="sentiment")
    inputs, _ = get_task("sentiment").generate(4, 10, torch.Generator().manual_seed(2), split="test")
    with torch.no_grad():
        assert (deployable(model)(inputs) - model(inputs)).abs().max() < 1e-5


@pytest.mark.parametrize("arch", CELLS)
def test_int8_outputs_stay_within_the_measured_tolerance_of_float32(tmp_path, arch):
    model = tiny_model(arch, layers=2, seed=3)
    inputs, _ = adding_inputs(64)
    with torch.no_grad():
        expected = model(inputs)
    plain = deployable(model)
    quantised = quantisation.torch_int8(plain)
    with torch.no_grad(), quantisation.torch_ao_quiet():
        torch_diff = float((quantised(inputs) - expected).abs().max())
    float_path = onnx_variants.export_onnx(plain, inputs[:1], tmp_path / "f.onnx")
    int8_path = onnx_variants.quantise_onnx(float_path, tmp_path / "q.onnx")
    onnx_diff = float((onnx_variants.OnnxRunner(int8_path)(inputs) - expected).abs().max())
    assert 0 < torch_diff <= INT8_TOLERANCE
    assert 0 < onnx_diff <= INT8_TOLERANCE
    # onnxruntime quantises the LSTM op itself; it has none for a GRU or an RNN, whose MatMuls only become int8.
    ops = onnx_variants.quantised_ops(int8_path)
    assert ("DynamicQuantizeLSTM" in ops) == (arch == "lstm")
    assert "MatMulInteger" in ops


def test_the_int8_file_holds_weights_rounded_to_half_a_step_of_their_scale(tmp_path):
    model = tiny_model("lstm", seed=4)
    path = tmp_path / "int8.safetensors"
    path.write_bytes(quantisation.int8_file_bytes(quantisation.torch_int8(deployable(model)), {}))
    tensors = load_file(str(path))
    original = model.recurrent.weight_hh_l0.detach()
    weight = tensors["recurrent.weight_hh_l0.int8"]
    scale, zero = float(tensors["recurrent.weight_hh_l0.scale"]), int(tensors["recurrent.weight_hh_l0.zero_point"])
    assert weight.dtype == torch.int8 and weight.shape == original.shape
    restored = (weight.float() - zero) * scale
    assert (restored - original).abs().max() <= scale / 2 + 1e-7
    assert torch.equal(tensors["recurrent.bias_ih_l0"], model.recurrent.bias_ih_l0.detach())


@pytest.mark.parametrize("fraction", pruning.PRUNE_FRACTIONS)
def test_pruning_zeroes_the_stated_fraction_of_every_weight_matrix_and_the_fine_tune_keeps_them(fraction):
    model = tiny_model("gru", layers=2)
    settings = pruning.FineTune(steps=5, batch_size=8, learning_rate=1e-2, length=12, seed=0)
    pruned = pruning.pruned_model(model, fraction, get_task("adding"), None)
    tuned = pruning.pruned_model(model, fraction, get_task("adding"), settings)
    for (module, name), (tuned_module, _), (original_module, _) in zip(
            pruning.prunable_weights(pruned), pruning.prunable_weights(tuned), pruning.prunable_weights(model)):
        weight, tuned_weight = getattr(module, name).detach(), getattr(tuned_module, name).detach()
        original = getattr(original_module, name).detach()
        zeros = weight == 0
        assert int(zeros.sum()) == round(fraction * weight.numel())
        # The smallest magnitudes went: every kept weight is at least as large as every removed one.
        assert original[~zeros].abs().min() >= original[zeros].abs().max()
        assert torch.equal(tuned_weight == 0, zeros)  # the fine-tune kept the mask
    assert pruning.zero_fraction(pruned) == pytest.approx(fraction, abs=0.01)
    changed = [not torch.equal(a, b) for a, b in zip(pruned.parameters(), tuned.parameters())]
    assert any(changed)  # and it did train


def test_a_pruned_model_computes_with_its_zeros_and_its_sparse_file_restores_it(tmp_path):
    model = tiny_model("lstm")
    pruned = pruning.pruned_model(model, 0.8)
    by_hand = tiny_model("lstm")
    with torch.no_grad():
        for module, name in pruning.prunable_weights(by_hand):
            weight = getattr(module, name)
            threshold = weight.abs().flatten().kthvalue(round(0.8 * weight.numel())).values
            weight[weight.abs() <= threshold] = 0
    inputs, _ = adding_inputs(8)
    with torch.no_grad():
        assert (pruned(inputs) - by_hand(inputs)).abs().max() < 1e-6
    state = {name: tensor.detach() for name, tensor in pruned.state_dict().items()}
    path = tmp_path / "sparse.safetensors"
    path.write_bytes(pruning.sparse_file_bytes(state, {}))
    restored = pruning.dense_from_sparse(load_file(str(path)))
    assert restored.keys() == state.keys()
    assert all(torch.equal(restored[name], state[name]) for name in state)


def test_the_report_has_every_field_and_each_rows_bytes_are_its_files_size(tmp_path):
    task = get_task("adding")
    model = tiny_model("lstm", layers=2)
    inputs, targets = adding_inputs(16)
    progress = []
    rows = compress_model(model, task, inputs, targets, tmp_path, timing=TINY_TIMING,
                          fine_tune=pruning.FineTune(steps=2, batch_size=4, learning_rate=1e-3, length=12, seed=0),
                          progress=lambda done, total, what: progress.append((done, total)))
    report = rows_json(rows)
    json.dumps(report)  # report.json's form: plain JSON
    assert len(report) == 12 and progress[-1] == (12, 12)
    for row in report:
        for field in ("variant", "architecture", "bytes", "latency_ms_p50", "latency_ms_p95", "metric", "max_abs_diff"):
            assert row[field] is not None, field
        assert row["bytes"] == (tmp_path / row["file"]).stat().st_size
        assert row["latency_ms_p50"] <= row["latency_ms_p95"]
    by_variant = {row["variant"]: row for row in report}
    assert by_variant["float32"]["max_abs_diff"] < 1e-6
    with torch.no_grad():
        assert by_variant["float32"]["metric"] == pytest.approx(task.metric(model(inputs), targets), rel=1e-5)
    assert by_variant["float16 weights"]["bytes"] < 0.7 * by_variant["float32"]["bytes"]
    assert by_variant["ONNX float32"]["max_abs_diff"] <= ONNX_TOLERANCE
    assert all(row["streaming_ms_per_step_p50"] is not None for row in report)  # every variant streams
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(row["file"] for row in report)


def test_a_transformer_is_refused_with_a_message(tmp_path):
    model = build_model(ModelConfig.for_task("transformer", get_task("adding"), hidden_size=8), 0)
    with pytest.raises(ConfigError, match="recurrent cells"):
        DeployableModel(model)
    inputs, targets = adding_inputs(4)
    with pytest.raises(ConfigError, match="recurrent cells"):
        compress_model(model, get_task("adding"), inputs, targets, tmp_path)


def test_the_gates_under_int8_weights_move_a_little_and_start_from_the_float32_trace():
    model = tiny_model("lstm", seed=1)
    inputs, _ = adding_inputs(4)
    shift = gate_shift(model, inputs)
    float_trace = trace(model, inputs)
    assert shift.gates == ("input_gate", "forget_gate", "candidate", "output_gate")
    assert np.array_equal(shift.before["forget_gate"], float_trace["forget_gate"].ravel())
    assert np.array_equal(shift.state_before, float_trace["cell_state"][0])
    moved = shift.largest_shift()
    assert all(0 < value < 0.05 for value in moved.values()), moved
    assert shift.recurrent_quantised
    # torch.ao has no int8 tanh RNN: its recurrent weights, and so its pre-activations, do not move.
    rnn_shift = gate_shift(tiny_model("rnn"), inputs)
    assert not rnn_shift.recurrent_quantised and rnn_shift.largest_shift() == {"preactivation": 0.0}
