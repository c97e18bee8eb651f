"""The RNN and GRU train through their own forward and backward (lstm_viz/core/architectures/rnn.py, gru.py):
outputs, final states and every gradient must equal PyTorch's nn.RNN / nn.GRU, dropout masks included."""
import pytest
import torch
from safetensors.torch import load, save

from lstm_viz.core.architectures import ARCHITECTURES, RECURRENT_ARCHITECTURES
from lstm_viz.core.architectures.gru import GatedRecurrence
from lstm_viz.core.architectures.rnn import TanhRecurrence
from lstm_viz.core.model import ModelConfig, build_model
from lstm_viz.core.trainer import RunConfig, Trainer

LAYER_FUNCTION = {"rnn": TanhRecurrence, "gru": GatedRecurrence}
TOLERANCE = {torch.float32: 1e-5, torch.float64: 1e-10}


def graph_names(tensor: torch.Tensor) -> set[str]:
    """Names of every autograd node behind `tensor`: shows which implementation really ran."""
    names, stack, seen = set(), [tensor.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        names.add(node.name())
        stack.extend(next_node for next_node, _ in node.next_functions)
    return names


def module_pair(arch: str, num_layers: int, dropout: float, batch_first: bool, dtype: torch.dtype):
    """The app's module as `build` makes it, and a plain PyTorch module loaded with the same weights."""
    torch.manual_seed(num_layers)
    ours = ARCHITECTURES[arch].build(3, 16, num_layers, dropout).to(dtype)
    if not batch_first:
        ours.batch_first = False
    reference = ARCHITECTURES[arch].fused_class(3, 16, num_layers=num_layers, dropout=ours.dropout,
                                                batch_first=batch_first).to(dtype)
    reference.load_state_dict(ours.state_dict())
    assert type(reference) is not type(ours)
    return ours, reference


def forward_and_gradients(module, inputs, initial, seed):
    torch.manual_seed(seed)  # the dropout masks: the same draws for both modules
    output, final = module(inputs, initial)
    # Random weights on every output entry, so each step's and each layer's gradient path counts.
    generator = torch.Generator().manual_seed(99)
    weight_output = torch.randn(output.shape, generator=generator, dtype=output.dtype)
    weight_final = torch.randn(final.shape, generator=generator, dtype=final.dtype)
    loss = (output * weight_output).sum() + (final * weight_final).sum()
    named = dict(module.named_parameters())
    gradients = torch.autograd.grad(loss, [inputs, initial, *named.values()] if initial is not None else [inputs, *named.values()])
    names = ["input", "initial state"] if initial is not None else ["input"]
    return output, final, dict(zip(names + list(named), gradients)), graph_names(loss)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("num_layers,dropout", [(1, 0.0), (2, 0.0), (3, 0.0), (2, 0.5), (3, 0.3)])
@pytest.mark.parametrize("arch", ["rnn", "gru"])
def test_outputs_states_and_gradients_equal_pytorch(arch, num_layers, dropout, dtype):
    ours, reference = module_pair(arch, num_layers, dropout, batch_first=True, dtype=dtype)
    ours.train(), reference.train()
    inputs = (torch.randn(6, 40, 3, dtype=dtype) * 2).requires_grad_(True)
    initial = (torch.randn(num_layers, 6, 16, dtype=dtype) * 0.5).requires_grad_(True) if num_layers != 2 else None
    output, final, gradients, ran = forward_and_gradients(ours, inputs, initial, seed=5)
    expected_output, expected_final, expected_gradients, _ = forward_and_gradients(reference, inputs, initial, seed=5)
    assert f"{LAYER_FUNCTION[arch].__name__}Backward" in ran
    tolerance = TOLERANCE[dtype]
    torch.testing.assert_close(output, expected_output, rtol=tolerance, atol=tolerance)
    torch.testing.assert_close(final, expected_final, rtol=tolerance, atol=tolerance)
    assert set(gradients) == set(expected_gradients) and len(gradients) == 4 * num_layers + 1 + (initial is not None)
    for name, expected in expected_gradients.items():
        torch.testing.assert_close(gradients[name], expected, rtol=tolerance, atol=tolerance, msg=lambda m: f"{name}: {m}")
    if dropout:
        # The masks really were drawn: another seed gives other outputs.
        other_output, _, _, _ = forward_and_gradients(ours, inputs, initial, seed=6)
        assert (other_output - output).abs().max() > 1e-3


@pytest.mark.parametrize("arch", ["rnn", "gru"])
def test_time_major_input_and_an_input_without_gradient(arch):
    ours, reference = module_pair(arch, 2, 0.0, batch_first=False, dtype=torch.float64)
    inputs = torch.randn(25, 4, 3, dtype=torch.float64)  # (T, B, D)
    output, final = ours(inputs)
    expected_output, expected_final = reference(inputs)
    assert f"{LAYER_FUNCTION[arch].__name__}Backward" in graph_names(output)
    torch.testing.assert_close(output, expected_output, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(final, expected_final, rtol=1e-10, atol=1e-10)
    gradients = torch.autograd.grad(output.square().sum(), list(ours.parameters()))
    expected = torch.autograd.grad(expected_output.square().sum(), list(reference.parameters()))
    for actual, wanted in zip(gradients, expected):
        torch.testing.assert_close(actual, wanted, rtol=1e-10, atol=1e-10)


def test_a_second_backward_through_the_gru_fails_instead_of_reusing_overwritten_values():
    """GatedRecurrence's backward turns the forward's buffer into the gradient in place; PyTorch's saved-tensor
    check must then refuse a second backward through the same graph, as it does for any in-place change."""
    ours, _ = module_pair("gru", 1, 0.0, batch_first=True, dtype=torch.float64)
    output, _ = ours(torch.randn(2, 7, 3, dtype=torch.float64))
    loss = output.square().sum()
    loss.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


@pytest.mark.parametrize("arch", ["rnn", "gru"])
def test_inference_is_pytorchs_own_forward_and_names_stay_pytorchs(arch):
    ours, reference = module_pair(arch, 2, 0.2, batch_first=True, dtype=torch.float32)
    ours.eval(), reference.eval()
    assert list(dict(ours.named_parameters())) == list(dict(reference.named_parameters()))
    inputs = torch.randn(3, 12, 3)
    with torch.no_grad():
        # Without autograd PyTorch's own kernel runs, so an export reloaded into plain PyTorch gives identical numbers.
        assert torch.equal(ours(inputs)[0], reference(inputs)[0])
    plain = ARCHITECTURES[arch].fused_class(3, 16, num_layers=2, batch_first=True)
    plain.load_state_dict(load(save(ours.state_dict())))
    with torch.no_grad():
        assert torch.equal(plain(inputs)[0], ours(inputs)[0])


@pytest.mark.parametrize("arch", ["rnn", "gru"])
def test_sequence_model_trains_through_the_written_out_backward(arch):
    model = build_model(ModelConfig(arch=arch, input_size=2, output_size=1, hidden_size=8, num_layers=2), seed=0)
    assert isinstance(model.recurrent, ARCHITECTURES[arch].fused_class)
    loss = model(torch.rand(4, 10, 2)).square().mean()
    assert f"{LAYER_FUNCTION[arch].__name__}Backward" in graph_names(loss)


def test_trainer_runs_as_with_pytorchs_modules(monkeypatch):
    """A trainer run of the RNN and GRU gives the losses, metrics and weights nn.RNN / nn.GRU give. Plain SGD:
    Adam's first steps move every weight by about lr * sign(gradient), so a rounding-level difference in a
    near-zero gradient would become a difference of lr, whichever implementation runs."""
    config = RunConfig(task="adding", length=30, archs=("rnn", "gru"), hidden_size=16, num_layers=2, dropout=0.25,
                       batch_size=16, optimizer="sgd", learning_rate=0.5, max_steps=25, eval_every=5, eval_size=64,
                       probe_every=1000, probe_size=2, trace_examples=2)
    calls = {"count": 0}
    for function in LAYER_FUNCTION.values():
        original = function.forward

        def counted(ctx, *args, original=original):
            calls["count"] += 1
            return original(ctx, *args)

        monkeypatch.setattr(function, "forward", staticmethod(counted))
    torch.manual_seed(11)  # dropout draws from the global generator: the same masks in both runs
    ours = Trainer(config)
    while not ours.finished:
        ours.train_step()
    assert calls["count"] == 2 * 2 * 25  # both layers of both models ran the written-out path at every step
    monkeypatch.undo()
    monkeypatch.setattr("lstm_viz.core.architectures.base.StackedRecurrence._runs_layer_function", lambda *args: False)
    torch.manual_seed(11)
    pytorch = Trainer(config)
    while not pytorch.finished:
        pytorch.train_step()
    for arch in config.archs:
        ours_run, pytorch_run = ours.runs[arch], pytorch.runs[arch]
        assert ours_run.train_loss == pytest.approx(pytorch_run.train_loss, rel=1e-5)
        assert ours_run.eval_metric == pytest.approx(pytorch_run.eval_metric, rel=1e-5)
        for name, value in pytorch_run.model.state_dict().items():
            torch.testing.assert_close(ours_run.model.state_dict()[name], value, rtol=1e-5, atol=1e-5)
