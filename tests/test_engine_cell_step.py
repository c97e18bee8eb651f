"""One step taken apart must agree with PyTorch's own cells stepped by hand, and its equations must read correctly."""
import math
import re

import numpy as np
import pytest
import torch

from lstm_viz.core.architectures import ARCHITECTURES, RECURRENT_ARCHITECTURES, layer_params
from lstm_viz.analysis.cell_step import cell_step, fmt, rounded_summands, sandbox_step, step_from_trace
from lstm_viz.core.model import ModelConfig, build_model
from lstm_viz.core.traces import trace
from tests.test_engine_traces import trained_a_little
from tests.engine_support import one_torch_thread  # noqa: F401

TOLERANCE = 1e-6


def reference_states(arch, model, example_input, num_layers):
    """Per layer, h_t (and c_t) at every step from nn.LSTMCell / nn.GRUCell / nn.RNNCell in float64."""
    hidden_size = model.config.hidden_size
    layer_input = example_input.double()  # (T, D)
    per_layer = []
    for layer in range(num_layers):
        params = layer_params(model.recurrent, layer)
        cell = ARCHITECTURES[arch].cell_class(layer_input.shape[1], hidden_size).double()
        cell.load_state_dict({name: value.detach().double() for name, value in params.items()})
        h = torch.zeros(1, hidden_size, dtype=torch.float64)
        c = torch.zeros_like(h)
        hs, cs = [], []
        with torch.no_grad():
            for t in range(layer_input.shape[0]):
                if arch == "lstm":
                    h, c = cell(layer_input[t : t + 1], (h, c))
                    cs.append(c[0])
                else:
                    h = cell(layer_input[t : t + 1], h)
                hs.append(h[0])
        hidden = torch.stack(hs)
        per_layer.append({"h": hidden, "c": torch.stack(cs) if cs else None})
        layer_input = hidden
    return per_layer


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(4)
    inputs = torch.randn(3, 30, 3) * 2
    built = {}
    for arch in RECURRENT_ARCHITECTURES:
        for num_layers in (1, 2):
            config = ModelConfig(arch=arch, input_size=3, output_size=2, hidden_size=10, num_layers=num_layers)
            built[arch, num_layers] = trained_a_little(build_model(config, seed=2), inputs)
    return inputs, built


@pytest.mark.parametrize("arch", sorted(RECURRENT_ARCHITECTURES))
@pytest.mark.parametrize("num_layers", [1, 2])
def test_every_step_matches_pytorch_cells_stepped_by_hand(models, arch, num_layers):
    inputs, built = models
    model = built[arch, num_layers]
    example = 2
    reference = reference_states(arch, model, inputs[example], num_layers)
    traced = trace(model, inputs)
    for layer in range(num_layers):
        for t in range(inputs.shape[1]):
            step = cell_step(model, inputs, t, example=example, layer=layer, traced=traced)
            expected = reference[layer]
            assert np.abs(step.h - expected["h"][t].numpy()).max() < TOLERANCE, (layer, t)
            if arch == "lstm":
                assert np.abs(step.c - expected["c"][t].numpy()).max() < TOLERANCE, (layer, t)
                c_prev = expected["c"][t - 1].numpy() if t else 0.0
                assert np.abs(step.c_prev - c_prev).max() < TOLERANCE
            else:
                assert step.c is None
            h_prev = expected["h"][t - 1].numpy() if t else 0.0
            assert np.abs(step.h_prev - h_prev).max() < TOLERANCE


@pytest.mark.parametrize("arch", sorted(RECURRENT_ARCHITECTURES))
def test_terms_are_the_weight_products_and_sum_to_the_preactivation(models, arch):
    inputs, built = models
    model = built[arch, 1]
    t, example = 7, 1
    step = cell_step(model, inputs, t, example=example)
    params = {name: value.detach().double() for name, value in layer_params(model.recurrent, 0).items()}
    x = inputs[example, t].double()
    h_prev = torch.from_numpy(step.h_prev)
    gate_count = ARCHITECTURES[arch].gate_count
    input_proj = (params["weight_ih"] @ x).chunk(gate_count)
    hidden_proj = (params["weight_hh"] @ h_prev).chunk(gate_count)
    bias_ih, bias_hh = params["bias_ih"].chunk(gate_count), params["bias_hh"].chunk(gate_count)
    assert len(step.gates) == gate_count
    for k, gate in enumerate(step.gates.values()):
        total = np.sum([term.values for term in gate.terms], axis=0)
        assert np.array_equal(total, gate.preactivation)
        if arch == "gru" and gate.name == "candidate":
            reset = step.gates["reset_gate"].value
            expected = input_proj[k] + bias_ih[k] + torch.from_numpy(reset) * (hidden_proj[k] + bias_hh[k])
            assert np.allclose(gate.terms[2].values, reset * (gate.inner_terms[0].values + gate.inner_terms[1].values))
        else:
            expected = input_proj[k] + hidden_proj[k] + bias_ih[k] + bias_hh[k]
            assert np.allclose(gate.terms[0].values, input_proj[k].numpy(), atol=1e-12)
            assert np.allclose(gate.terms[1].values, hidden_proj[k].numpy(), atol=1e-12)
        assert np.allclose(gate.preactivation, expected.numpy(), atol=1e-12)
        squash = (lambda v: 1 / (1 + np.exp(-v))) if gate.activation == "sigmoid" else np.tanh
        assert np.allclose(gate.value, squash(expected.numpy()), atol=1e-12)


def test_gate_values_agree_with_the_trace_the_other_pages_show(models):
    inputs, built = models
    model = built["lstm", 1]
    traced = trace(model, inputs)
    for t in (0, 12, 29):
        step = cell_step(model, inputs, t, example=0, traced=traced)
        for name, gate in step.gates.items():
            assert np.abs(gate.value - traced.layers[0][name][0, t]).max() < TOLERANCE
        assert np.abs(step.c - traced.layers[0]["cell_state"][0, t]).max() < TOLERANCE
        assert np.array_equal(step.x, inputs[0, t].double().numpy())


def test_sandbox_equals_the_scalar_formula_written_out():
    x, h_prev, c_prev = 0.7, -0.4, 1.3
    biases = {"input_gate": -1.0, "forget_gate": 2.5, "candidate": 0.3, "output_gate": 0.8}
    w = {"input_gate": 1.5, "forget_gate": -0.5, "candidate": 2.0, "output_gate": 0.25}
    u = {"input_gate": 0.5, "forget_gate": 1.0, "candidate": -1.0, "output_gate": 2.0}
    step = sandbox_step(x, h_prev, c_prev, biases, input_weights=w, recurrent_weights=u)

    def sigmoid(v):
        return 1.0 / (1.0 + math.exp(-v))

    i = sigmoid(1.5 * x + 0.5 * h_prev - 1.0)
    f = sigmoid(-0.5 * x + 1.0 * h_prev + 2.5)
    g = math.tanh(2.0 * x - 1.0 * h_prev + 0.3)
    o = sigmoid(0.25 * x + 2.0 * h_prev + 0.8)
    c = f * c_prev + i * g
    h = o * math.tanh(c)
    assert step.hidden_size == 1
    for name, expected in (("input_gate", i), ("forget_gate", f), ("candidate", g), ("output_gate", o)):
        assert step.gates[name].value[0] == pytest.approx(expected, abs=1e-15)
    assert step.c[0] == pytest.approx(c, abs=1e-15)
    assert step.h[0] == pytest.approx(h, abs=1e-15)
    # Default weights are 1: with x = h = 0 every gate is its bias squashed.
    bare = sandbox_step(0.0, 0.0, 0.5, {"forget_gate": 3.0})
    assert bare.gates["forget_gate"].value[0] == pytest.approx(sigmoid(3.0))
    assert bare.gates["input_gate"].value[0] == pytest.approx(0.5)
    assert bare.c[0] == pytest.approx(sigmoid(3.0) * 0.5)


def test_rounded_summands_add_up_and_stay_within_one_unit():
    rng = np.random.default_rng(0)
    for _ in range(2000):
        values = list(rng.normal(scale=rng.choice([0.01, 1, 30]), size=rng.integers(2, 5)))
        shown, total = rounded_summands(values, 4)
        assert sum(shown) == total
        assert abs(total - math.fsum(values) * 1e4) <= 0.5 + 1e-6
        for value, units in zip(values, shown):
            assert abs(units - value * 1e4) < 1.0 + 1e-6
    # Three thirds show as 0.3333 + 0.3333 + 0.3334 = 1.0000, not 0.3333 * 3 = 1.0000.
    shown, total = rounded_summands([0.33334, 0.33334, 0.33334], 4)
    assert total == 10000 and sorted(shown) == [3333, 3333, 3334]
    assert fmt(-0.00001) == "0.0000" and fmt(-1.23456) == "-1.2346" and fmt(2.0) == "2.0000"


NUMBER = r"-?\d+\.\d+"


def _sum_of(text: str) -> float:
    """'0.1234 - 0.5678 + 1.0000' -> its value, as a reader would add it up."""
    return sum(float(sign.replace(" ", "") + number) for sign, number in re.findall(r"(^|[+-] ?)(\d+\.\d+)", text.strip()))


@pytest.mark.parametrize("arch", sorted(RECURRENT_ARCHITECTURES))
def test_equations_read_correctly_for_every_unit(models, arch):
    inputs, built = models
    model = built[arch, 1]
    step = cell_step(model, inputs, 11, example=0)
    for unit in range(step.hidden_size):
        equations = step.equations(unit)
        labels = [label for label, _ in equations]
        expected_labels = {
            "lstm": ["forget gate", "input gate", "candidate", "cell update", "output gate", "hidden state"],
            "gru": ["reset gate", "update gate", "candidate", "hidden state"],
            "rnn": ["hidden state"],
        }[arch]
        assert labels == expected_labels
        for (label, latex) in equations:
            last = latex.split(r"\\")[-1].replace(r"\end{aligned}", "")
            bold = float(re.search(rf"\\mathbf{{({NUMBER})}}", last).group(1))
            summed = re.findall(r"\\(?:sigma|tanh)\\left\(([-+ .\d]+)\\right\)", latex)
            if summed:
                # act(a + b + c) on one line, act(s) = value on the next: a + b + c must read as s.
                total = re.search(rf"&= \\(sigma|tanh)\(({NUMBER})\) = \\mathbf", last)
                shown_total = float(total.group(2))
                assert _sum_of(summed[-1]) == pytest.approx(shown_total, abs=1e-9), latex
                squash = (lambda v: 1 / (1 + math.exp(-v))) if total.group(1) == "sigma" else math.tanh
                assert squash(shown_total) == pytest.approx(bold, abs=1.5e-4), latex
            elif label == "hidden state" and arch == "lstm":
                # o x tanh(c) = o x (tanh shown) = h: the product of two 4-decimal numbers, good to about 1e-4.
                factors = re.search(rf"= \(?({NUMBER})\)? \\times \(?({NUMBER})\)? = \\mathbf", last)
                product = float(factors.group(1)) * float(factors.group(2))
                assert product == pytest.approx(bold, abs=1.5e-4), latex
                assert float(factors.group(2)) == float(fmt(math.tanh(step.c[unit])))
            else:
                products = re.search(r"&= (.*) = \\mathbf", last).group(1)
                assert _sum_of(products) == pytest.approx(bold, abs=1e-9), latex
        values = {label: float(re.search(rf"\\mathbf{{({NUMBER})}}", latex).group(1)) for label, latex in equations}
        assert values["hidden state"] == float(fmt(step.h[unit]))
        if arch == "lstm":
            assert values["cell update"] == float(fmt(step.c[unit]))
            assert values["forget gate"] == float(fmt(step.gates["forget_gate"].value[unit]))
    if arch == "gru":
        assert r"n_{t,j} &= \tanh" in step.equations(0)[2][1]


def test_out_of_range_step_and_unit_are_refused(models):
    inputs, built = models
    model = built["lstm", 1]
    with pytest.raises(IndexError):
        cell_step(model, inputs, 30)
    step = cell_step(model, inputs, 0)
    assert np.array_equal(step.h_prev, np.zeros(10)) and np.array_equal(step.c_prev, np.zeros(10))
    with pytest.raises(IndexError):
        step.equations(10)
    with pytest.raises(ValueError):
        step_from_trace("transformer", {}, np.zeros((3, 1)), {"hidden_state": np.zeros((3, 1))}, 0)
