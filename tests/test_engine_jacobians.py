"""lstm_viz.analysis.jacobians against independent computations: autograd Jacobians through PyTorch's own cells, a
hand-written LSTM loop with the forget gate fixed, and the initial weights read back directly."""
from dataclasses import replace

import numpy as np
import pytest
import torch

from lstm_viz.analysis import jacobians
from lstm_viz.core.gradient_flow import measure_gradient_flow
from lstm_viz.core.model import ModelConfig, build_model
from lstm_viz.core.tasks import get_task
from lstm_viz.core.traces import trace
from lstm_viz.core.trainer import CLIP_RANGE, RunConfig

torch.set_num_threads(1)


def small_model(arch: str, layers: int = 1, hidden: int = 5, seed: int = 3, **kwargs):
    config = ModelConfig.for_task(arch, "adding", hidden_size=hidden, num_layers=layers, **kwargs)
    return build_model(config, seed=seed)


def adding_batch(count: int, length: int, seed: int = 0):
    return get_task("adding").generate(count, length, torch.Generator().manual_seed(seed))


def rnn_cells(model):
    """PyTorch's own nn.RNNCell per layer, float64, with the fused module's weights."""
    cells = []
    for layer in range(model.config.num_layers):
        cell = torch.nn.RNNCell(model.recurrent.input_size if layer == 0 else model.config.hidden_size,
                                model.config.hidden_size).double()
        with torch.no_grad():
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(cell, name).copy_(getattr(model.recurrent, f"{name}_l{layer}"))
        cells.append(cell)
    return cells


@pytest.mark.parametrize("layers, layer, scale", [(1, 0, 1.0), (1, 0, 2.5), (2, 1, 1.5)])
def test_rnn_jacobian_products_match_autograd_through_rnn_cells(layers, layer, scale):
    model = jacobians.scale_recurrent_weights(small_model("rnn", layers=layers), scale)
    inputs, _ = adding_batch(1, 9)
    example = inputs[0].double()
    # Hidden states layer by layer with nn.RNNCell, independently of the engine's unrolled loop.
    cells = rnn_cells(model)
    layer_input = example
    for index in range(layer + 1):
        inputs_to_layer = layer_input
        hidden, states = torch.zeros(1, model.config.hidden_size, dtype=torch.float64), []
        for x in inputs_to_layer:
            hidden = cells[index](x[None], hidden)
            states.append(hidden[0].detach())
        layer_input = torch.stack(states)
    cell, steps = cells[layer], len(states)

    def run_from(start: int, end: int):
        def forward(h):
            for t in range(start + 1, end + 1):
                h = cell(inputs_to_layer[t][None], h[None])[0]
            return h
        return forward

    result = jacobians.rnn_jacobians(model, inputs[0], layer=layer)
    last = steps - 1
    for distance in range(1, steps):
        start = last - distance
        full = torch.autograd.functional.jacobian(run_from(start, last), states[start])  # dh_{T-1}/dh_{T-1-d}
        one = torch.autograd.functional.jacobian(run_from(start, start + 1), states[start])  # dh_{start+1}/dh_start
        assert result.product_norm[distance] == pytest.approx(float(torch.linalg.matrix_norm(full, ord=2)), rel=1e-9)
        assert result.step_norm[distance - 1] == pytest.approx(float(torch.linalg.matrix_norm(one, ord=2)), rel=1e-9)
    assert result.product_norm[0] == 1.0
    np.testing.assert_allclose(result.norm_product[1:], np.cumprod(result.step_norm), rtol=1e-12)
    assert np.all(result.product_norm <= result.norm_product * (1 + 1e-12))  # the product of norms bounds it
    weight_hh = getattr(model.recurrent, f"weight_hh_l{layer}").detach().double().numpy()
    assert result.spectral_radius == pytest.approx(np.abs(np.linalg.eigvals(weight_hh)).max(), rel=1e-9)
    assert np.all(result.step_norm <= result.weight_norm * (1 + 1e-12))


def test_rnn_jacobians_stay_finite_far_back_where_plain_products_underflow():
    model = jacobians.scale_recurrent_weights(small_model("rnn", hidden=8), 0.2)
    inputs, _ = adding_batch(1, 400)
    result = jacobians.rnn_jacobians(model, inputs[0])
    # Renormalising every step keeps the logarithm exact where the value itself underflows float64.
    assert np.all(np.isfinite(result.log10_product_norm)) and result.log10_product_norm[-1] < -320
    assert result.product_norm[-1] == 0.0
    representable = result.product_norm > 1e-290
    assert representable.sum() > 50
    np.testing.assert_allclose(np.log10(result.product_norm[representable]),
                               result.log10_product_norm[representable], rtol=1e-9, atol=1e-12)
    assert np.all(np.diff(result.log10_norm_product) == pytest.approx(np.log10(result.step_norm), rel=1e-9))


def test_forget_path_matches_gates_of_an_lstm_cell_loop():
    model = small_model("lstm", hidden=6)
    inputs, _ = adding_batch(1, 12)
    cell = torch.nn.LSTMCell(2, 6).double()
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(getattr(model.recurrent, f"{name}_l0"))
    hidden = cell_state = torch.zeros(1, 6, dtype=torch.float64)
    forget = []
    for x in inputs[0].double():
        preactivation = x[None] @ cell.weight_ih.T + cell.bias_ih + hidden @ cell.weight_hh.T + cell.bias_hh
        forget.append(torch.sigmoid(preactivation[0, 6:12]).detach())
        hidden, cell_state = cell(x[None], (hidden, cell_state))
    forget = torch.stack(forget).numpy()  # (T, H)
    path = jacobians.lstm_forget_path(model, inputs[0])
    np.testing.assert_allclose(path.forget_gate, forget, rtol=1e-12)
    steps = forget.shape[0]
    for distance in range(steps):
        expected = np.prod(forget[steps - distance:], axis=0) if distance else np.ones(6)
        np.testing.assert_allclose(path.product_per_unit[:, distance], expected, rtol=1e-10)
    np.testing.assert_allclose(path.product_mean, path.product_per_unit.mean(axis=0))


def hand_written_clamped_lstm(model, inputs: torch.Tensor, clamp: float):
    """A plain loop of the LSTM equations with f_t = clamp, float64; returns outputs and h_t of every layer."""
    hidden_size = model.config.hidden_size
    layer_input = inputs.double()
    all_hidden = []
    for layer in range(model.config.num_layers):
        weight_ih = getattr(model.recurrent, f"weight_ih_l{layer}").detach().double()
        weight_hh = getattr(model.recurrent, f"weight_hh_l{layer}").detach().double()
        bias = (getattr(model.recurrent, f"bias_ih_l{layer}") + getattr(model.recurrent, f"bias_hh_l{layer}")).detach().double()
        hidden = torch.zeros(inputs.shape[0], hidden_size, dtype=torch.float64)
        cell = torch.zeros_like(hidden)
        outputs = []
        for t in range(inputs.shape[1]):
            z = layer_input[:, t] @ weight_ih.T + hidden @ weight_hh.T + bias
            i = torch.sigmoid(z[:, :hidden_size])
            g = torch.tanh(z[:, 2 * hidden_size:3 * hidden_size])
            o = torch.sigmoid(z[:, 3 * hidden_size:])
            cell = clamp * cell + i * g
            hidden = o * torch.tanh(cell)
            outputs.append(hidden)
        all_hidden.append(outputs)
        layer_input = torch.stack(outputs, dim=1)
    readout = layer_input[:, -1] @ model.readout.weight.detach().double().T + model.readout.bias.detach().double()
    return readout, all_hidden


@pytest.mark.parametrize("clamp, layers", [(0.0, 1), (0.5, 1), (1.0, 1), (0.9, 2)])
def test_clamped_forward_and_gradient_flow_match_a_hand_written_loop(clamp, layers):
    model = small_model("lstm", layers=layers, hidden=4)
    task = get_task("adding")
    inputs, targets = adding_batch(3, 10)
    expected, hidden = hand_written_clamped_lstm(model, inputs, clamp)
    np.testing.assert_allclose(jacobians.clamped_forward(model, inputs, clamp).numpy(), expected.numpy(), rtol=1e-12, atol=1e-14)

    # Gradient flow under the clamp against autograd through the hand-written loop.
    inputs_grad = inputs.double().requires_grad_(True)
    expected, hidden = hand_written_clamped_lstm(model, inputs_grad, clamp)
    flat = [h for per_layer in hidden for h in per_layer]
    gradients = torch.autograd.grad(task.per_example_loss(expected, targets.double()).sum(), flat)
    reference = torch.stack([g.norm(dim=-1).mean() for g in gradients]).view(layers, 10).numpy()
    flow = jacobians.clamped_gradient_flow(model, task, inputs, targets, clamp)
    np.testing.assert_allclose(flow.grad_norm_per_step, reference, rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(flow.forget_product_per_step[0], clamp ** np.arange(9, -1, -1.0))
    assert np.all(flow.forget_gate_mean_per_step == clamp)


def test_unclamped_experiment_reproduces_the_fused_model_and_clamping_changes_it():
    model = small_model("lstm", hidden=8)
    task = get_task("adding")
    test, probe = adding_batch(64, 15, seed=1), adding_batch(4, 15, seed=2)
    with torch.no_grad():
        fused_metric = task.metric(model(test[0]), test[1])
    plain = jacobians.clamp_experiment(model, task, test, probe, None)
    assert plain.metric == pytest.approx(fused_metric, rel=1e-5)
    np.testing.assert_allclose(plain.flow.grad_norm_per_step,
                               measure_gradient_flow(model, task, *probe).grad_norm_per_step, rtol=1e-12)
    clamped = jacobians.clamp_experiment(model, task, test, probe, 0.2)
    assert clamped.metric != pytest.approx(plain.metric, rel=1e-3)
    with pytest.raises(ValueError):
        jacobians.clamped_view(model, 1.5)
    with pytest.raises(ValueError):
        jacobians.clamped_view(small_model("gru"), 0.5)


def test_forget_bias_at_init_shifts_exactly_the_forget_slice():
    config = RunConfig(archs=("lstm",), hidden_size=6, length=20)
    default = jacobians.initial_model(config, "lstm")
    for bias in jacobians.FORGET_BIASES:
        shifted = jacobians.initial_model(config, "lstm", forget_bias=bias)
        difference = (shifted.recurrent.bias_ih_l0 - default.recurrent.bias_ih_l0).detach().numpy()
        np.testing.assert_array_equal(difference[6:12], np.full(6, bias, dtype=np.float32))
        np.testing.assert_array_equal(difference[:6], 0)
        np.testing.assert_array_equal(difference[12:], 0)
        assert torch.equal(shifted.recurrent.weight_hh_l0, default.recurrent.weight_hh_l0)
    # The probe's mean forget gate against an independent recomputation of the gates.
    task = config.make_task()
    probe = task.generate(8, 20, torch.Generator().manual_seed(5))
    result = jacobians.init_probe(config, "lstm", probe, forget_bias=3.0)
    model = jacobians.initial_model(config, "lstm", forget_bias=3.0)
    assert result.mean_forget_gate == pytest.approx(float(trace(model, probe[0]).layers[0]["forget_gate"].mean()), rel=1e-5)
    assert result.mean_forget_gate > 0.9 and result.spectral_radius is None


def test_recurrent_weight_scale_multiplies_w_hh_and_its_spectral_radius():
    config = RunConfig(archs=("rnn",), hidden_size=16, num_layers=2, length=20)
    default = jacobians.initial_model(config, "rnn")
    radius = jacobians.spectral_radius(default.recurrent.weight_hh_l0.detach())
    for scale in jacobians.WEIGHT_SCALES:
        scaled = jacobians.initial_model(config, "rnn", weight_scale=scale)
        for layer in range(2):
            torch.testing.assert_close(getattr(scaled.recurrent, f"weight_hh_l{layer}"),
                                       scale * getattr(default.recurrent, f"weight_hh_l{layer}"), rtol=0, atol=0)
            assert torch.equal(getattr(scaled.recurrent, f"weight_ih_l{layer}"), getattr(default.recurrent, f"weight_ih_l{layer}"))
        assert jacobians.spectral_radius(scaled.recurrent.weight_hh_l0.detach()) == pytest.approx(scale * radius, rel=1e-6)
    task = config.make_task()
    probe = task.generate(4, 20, torch.Generator().manual_seed(1))
    small, large = (jacobians.init_probe(config, "rnn", probe, weight_scale=s) for s in (0.5, 3.0))
    assert small.spectral_radius == pytest.approx(0.5 * radius, rel=1e-6)
    # Vanishing below radius 1, growing above: the first step back and the furthest one.
    assert jacobians.ratio_at_distance(small.flow.grad_norm_per_step[0], 19) < jacobians.ratio_at_distance(
        large.flow.grad_norm_per_step[0], 19)


def test_clipping_runs_share_init_and_batches_and_differ_only_by_clipping():
    config = RunConfig(archs=("rnn", "lstm"), hidden_size=4, length=10, batch_size=8, optimizer="sgd", learning_rate=0.5)
    progress = []
    # The extremes of the clipping range every way in accepts (CLIP_RANGE, as on the Train page).
    low, high = CLIP_RANGE
    clipped = jacobians.clipping_run(config, "rnn", low, 20, on_progress=progress.append, chunk=7)
    unclipped = jacobians.clipping_run(config, "rnn", None, 20)
    assert progress[-1] == 1.0 and progress == sorted(progress)
    assert list(clipped.steps) == list(range(1, 21)) and clipped.status == "budget"
    # Step 1: same weights, same batch, so the same loss and the same gradient norm (recorded before clipping).
    assert clipped.train_loss[0] == unclipped.train_loss[0]
    assert clipped.grad_norm[0] == unclipped.grad_norm[0] > low
    assert clipped.train_loss[5] != unclipped.train_loss[5]
    # A threshold that is never reached changes nothing.
    calm = replace(config, learning_rate=0.01)  # at 0.5 the unclipped RNN's norm passes 100 by step 7
    calm_unclipped = jacobians.clipping_run(calm, "rnn", None, 20)
    never = jacobians.clipping_run(calm, "rnn", high, 20)
    assert max(calm_unclipped.grad_norm) < high
    np.testing.assert_array_equal(never.train_loss, calm_unclipped.train_loss)
    assert len(clipped.eval_metric) >= 2
    assert jacobians.clipping_config(config, "gru", None, 100).archs == ("gru",)


def test_distance_helpers():
    norms = np.array([1e-6, 1e-3, 0.5, 2.0])
    assert jacobians.ratio_at_distance(norms, 0) == 1.0
    assert jacobians.ratio_at_distance(norms, 3) == pytest.approx(5e-7)
    assert jacobians.ratio_at_distance(norms, 99) == pytest.approx(5e-7)  # clipped to the sequence
    np.testing.assert_array_equal(jacobians.by_distance(norms), norms[::-1])
    assert jacobians.default_distance(100) == 50 and jacobians.default_distance(20) == 10
    assert jacobians.default_distance(2) == 1
    assert replace(RunConfig(), clip_grad_norm=None).validate().clip_grad_norm is None


def test_batched_clamped_metrics_match_one_hand_written_loop_per_value():
    model = small_model("lstm", layers=2, hidden=4)
    task = get_task("adding")
    inputs, targets = adding_batch(6, 9, seed=4)
    values = [0.0, None, 0.7, 1.0]
    metrics = jacobians.clamped_metrics(model, task, inputs, targets, values)
    for value, metric in zip(values, metrics):
        if value is None:
            with torch.no_grad():
                expected = task.metric(model(inputs), targets)
            assert metric == pytest.approx(expected, rel=1e-6)
        else:
            outputs, _ = hand_written_clamped_lstm(model, inputs, value)
            assert metric == pytest.approx(task.metric(outputs.float(), targets), rel=1e-6)
    assert len(set(metrics)) == 4
