"""Traces recomputed from fused outputs must equal a step-by-step loop of PyTorch's own cells."""
import math

import pytest
import torch

from lstm_viz.core.architectures import ARCHITECTURES, RECURRENT_ARCHITECTURES, layer_params
from lstm_viz.core.model import ModelConfig, build_model
from lstm_viz.core.traces import trace

TOLERANCE = 1e-5


def reference_layer(arch: str, params: dict, layer_input: torch.Tensor) -> dict[str, torch.Tensor]:
    """nn.LSTMCell / nn.GRUCell / nn.RNNCell give h (and c); the gates come from the textbook equations in float64."""
    batch, steps, input_size = layer_input.shape
    hidden_size = params["weight_hh"].shape[1]
    cell = ARCHITECTURES[arch].cell_class(input_size, hidden_size).double()
    cell.load_state_dict({name: value.double() for name, value in params.items()})
    p = {name: value.double() for name, value in params.items()}
    x = layer_input.double()
    h = torch.zeros(batch, hidden_size, dtype=torch.float64)
    c = torch.zeros_like(h)
    columns: dict[str, list[torch.Tensor]] = {}

    def keep(**arrays):
        for name, value in arrays.items():
            columns.setdefault(name, []).append(value)

    sigmoid = lambda v: 1.0 / (1.0 + torch.exp(-v))  # noqa: E731 - spelled out to stay independent of torch.sigmoid
    with torch.no_grad():
        for t in range(steps):
            x_t = x[:, t]
            if arch == "lstm":
                z = x_t @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T + p["bias_hh"]
                zi, zf, zg, zo = z.split(hidden_size, dim=1)
                h_next, c_next = cell(x_t, (h, c))
                keep(input_gate=sigmoid(zi), forget_gate=sigmoid(zf), candidate=torch.tanh(zg),
                     output_gate=sigmoid(zo), cell_state=c_next, hidden_state=h_next)
                h, c = h_next, c_next
            elif arch == "gru":
                a = x_t @ p["weight_ih"].T + p["bias_ih"]
                b = h @ p["weight_hh"].T + p["bias_hh"]
                (ar, az, an), (br, bz, bn) = a.split(hidden_size, 1), b.split(hidden_size, 1)
                r = sigmoid(ar + br)
                h_next = cell(x_t, h)
                keep(reset_gate=r, update_gate=sigmoid(az + bz), candidate=torch.tanh(an + r * bn), hidden_state=h_next)
                h = h_next
            else:
                pre = x_t @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T + p["bias_hh"]
                h_next = cell(x_t, h)
                keep(preactivation=pre, hidden_state=h_next)
                h = h_next
    return {name: torch.stack(values, dim=1) for name, values in columns.items()}


def trained_a_little(model, inputs):
    # Random init leaves gates near 0.5; a few large Adam steps push them into saturation too.
    optimiser = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(5):
        optimiser.zero_grad()
        model(inputs).pow(2).mean().backward()
        optimiser.step()
    return model


@pytest.mark.parametrize("arch", sorted(RECURRENT_ARCHITECTURES))
# Input narrower than the state (the LSTM folds x_t into each step's matmul) and wider (its input terms come first).
@pytest.mark.parametrize("num_layers,input_size", [(1, 3), (3, 3), (1, 20)])
def test_trace_matches_step_by_step_cells(arch, num_layers, input_size):
    torch.manual_seed(1)
    config = ModelConfig(arch=arch, input_size=input_size, output_size=2, hidden_size=12, num_layers=num_layers)
    inputs = torch.randn(5, 40, input_size) * 2
    model = trained_a_little(build_model(config, seed=3), inputs)
    result = trace(model, inputs)
    assert len(result.layers) == num_layers
    layer_input = inputs
    for layer in range(num_layers):
        reference = reference_layer(arch, layer_params(model.recurrent, layer), layer_input)
        assert set(result.layers[layer]) == set(ARCHITECTURES[arch].trace_names) == set(reference)
        for name, expected in reference.items():
            actual = torch.from_numpy(result.layers[layer][name]).double()
            assert actual.shape == expected.shape
            error = (actual - expected).abs().max().item()
            assert error < TOLERANCE, f"{arch} layer {layer} {name}: max error {error}"
        layer_input = reference["hidden_state"].float()
    with torch.no_grad():
        assert torch.allclose(torch.from_numpy(result.outputs), model(inputs), atol=1e-6)


def test_lstm_trace_satisfies_cell_equations():
    model = build_model(ModelConfig(arch="lstm", input_size=2, output_size=1, hidden_size=8), seed=0)
    result = trace(model, torch.rand(3, 25, 2))
    f, i, g, o, c, h = (torch.from_numpy(result[n]).double() for n in
                        ("forget_gate", "input_gate", "candidate", "output_gate", "cell_state", "hidden_state"))
    c_previous = torch.cat([torch.zeros_like(c[:, :1]), c[:, :-1]], dim=1)
    assert torch.allclose(c, f * c_previous + i * g, atol=1e-6)
    assert torch.allclose(h, o * torch.tanh(c), atol=1e-6)
    for gate in (f, i, o):
        assert gate.min() >= 0 and gate.max() <= 1


def test_trace_uses_eval_mode_and_restores_training_flag():
    config = ModelConfig(arch="lstm", input_size=2, output_size=1, hidden_size=8, num_layers=2, dropout=0.5)
    model = build_model(config, seed=0)
    model.train()
    inputs = torch.rand(2, 10, 2)
    first, second = trace(model, inputs), trace(model, inputs)
    assert model.training
    # Dropout would make two traces differ; eval mode makes them identical and equal to the eval forward.
    assert (first["hidden_state"] == second["hidden_state"]).all()
    model.eval()
    with torch.no_grad():
        assert torch.allclose(torch.from_numpy(first.outputs), model(inputs), atol=1e-6)


def test_forget_bias_shifts_only_the_forget_gate():
    base = build_model(ModelConfig(arch="lstm", input_size=2, output_size=1, hidden_size=6), seed=0)
    shifted = build_model(ModelConfig(arch="lstm", input_size=2, output_size=1, hidden_size=6, forget_bias=3.0), seed=0)
    delta = shifted.recurrent.bias_ih_l0 - base.recurrent.bias_ih_l0
    assert torch.allclose(delta[6:12], torch.full((6,), 3.0))
    assert delta[:6].abs().max() == 0 and delta[12:].abs().max() == 0
    mean_forget = trace(shifted, torch.zeros(1, 5, 2))["forget_gate"].mean()
    assert mean_forget > 1 / (1 + math.exp(-2.0))  # sigmoid(3 - small weights) stays well above 0.88
