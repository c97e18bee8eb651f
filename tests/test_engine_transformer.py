"""The Transformer beside the recurrent cells: its recomputed attention against PyTorch's module and a softmax
written here, its traces against its own forward, its gradient probe against autograd on the module."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lstm_viz.core.architectures.transformer import attention_parts, sinusoidal_positions
from lstm_viz.core.gradient_flow import measure_gradient_flow
from lstm_viz.core.model import ModelConfig, build_model
from lstm_viz.core.run_config import RunConfig
from lstm_viz.core.tasks import get_task
from lstm_viz.core.traces import trace
from lstm_viz.rules.errors import ConfigError


def transformer(hidden_size=12, num_layers=2, heads=3, positions="sinusoidal", max_positions=0, readout="last",
                output_size=2, seed=0):
    config = ModelConfig("transformer", input_size=3, output_size=output_size, hidden_size=hidden_size,
                         num_layers=num_layers, heads=heads, positions=positions, max_positions=max_positions,
                         readout=readout)
    model = build_model(config, seed)
    # Non-trivial biases and norms, so a recomputation that dropped one would show.
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))
    return model.eval()


def hand_attention(normed: np.ndarray, in_weight: np.ndarray, in_bias: np.ndarray, heads: int) -> np.ndarray:
    """softmax(q k^T / sqrt(d) + causal mask) for one sequence (T, H), in float64 NumPy, one head at a time."""
    steps, width = normed.shape
    head_width = width // heads
    projected = normed @ in_weight.T + in_bias
    query, key = projected[:, :width], projected[:, width:2 * width]
    weights = np.zeros((heads, steps, steps))
    for head in range(heads):
        columns = slice(head * head_width, (head + 1) * head_width)
        for t in range(steps):
            scores = np.array([query[t, columns] @ key[s, columns] / math.sqrt(head_width) for s in range(t + 1)])
            exponentials = np.exp(scores - scores.max())
            weights[head, t, : t + 1] = exponentials / exponentials.sum()
    return weights


def test_attention_matches_a_softmax_written_by_hand_and_the_module():
    model = transformer().double()
    inputs = torch.randn(2, 7, 3, dtype=torch.float64)
    hidden = model.transformer.embed_positions(inputs)
    block = model.transformer.layers[0]
    parts = attention_parts(block, hidden)
    attention_module = block.self_attn
    normed = block.norm1(hidden).detach().numpy()
    for example in range(2):
        expected = hand_attention(normed[example], attention_module.in_proj_weight.detach().numpy(),
                                  attention_module.in_proj_bias.detach().numpy(), heads=3)
        np.testing.assert_allclose(parts["attention"][example].detach().numpy(), expected, atol=1e-6)
    mask = torch.triu(torch.full((7, 7), float("-inf"), dtype=torch.float64), diagonal=1)
    output, module_weights = attention_module(parts["normed_input"], parts["normed_input"], parts["normed_input"],
                                              attn_mask=mask, need_weights=True, average_attn_weights=False)
    torch.testing.assert_close(parts["attention"], module_weights, atol=1e-6, rtol=0)
    torch.testing.assert_close(parts["attention_output"], output, atol=1e-6, rtol=0)
    # The block's output is the module's own forward, mask and all.
    torch.testing.assert_close(parts["hidden_state"], block(hidden, src_mask=mask, is_causal=True), atol=1e-6, rtol=0)


@pytest.mark.parametrize("positions, max_positions", [("sinusoidal", 0), ("learned", 40)])
@pytest.mark.parametrize("readout", ["last", "every"])
def test_trace_gives_the_models_outputs_and_rows_that_sum_to_one(positions, max_positions, readout):
    model = transformer(positions=positions, max_positions=max_positions, readout=readout)
    inputs = torch.randn(4, 9, 3)
    traced = trace(model, inputs)
    with torch.no_grad():
        np.testing.assert_allclose(traced.outputs, model(inputs).numpy(), atol=1e-5)
    assert len(traced.attention) == 2 and traced.attention[0].shape == (4, 3, 9, 9)
    np.testing.assert_allclose(traced.attention[1].sum(axis=-1), 1.0, atol=1e-5)
    # Causal: no position gives weight to a later one.
    assert np.all(np.triu(traced.attention[0], k=1) == 0)
    assert set(traced.layers[0]) == {"hidden_state"} and traced.layers[0]["hidden_state"].shape == (4, 9, 12)


def test_sinusoidal_positions_are_the_published_formula():
    table = sinusoidal_positions(50, 6).numpy()
    position, pair = 37, 2
    angle = position / 10000 ** (2 * pair / 6)
    assert table[position, 2 * pair] == pytest.approx(math.sin(angle), abs=1e-6)
    assert table[position, 2 * pair + 1] == pytest.approx(math.cos(angle), abs=1e-6)


def test_learned_positions_refuse_a_longer_input_and_sinusoidal_ones_extrapolate():
    learned = transformer(positions="learned", max_positions=8)
    with pytest.raises(ValueError, match="cover 8 steps"):
        learned(torch.randn(1, 9, 3))
    assert transformer()(torch.randn(1, 200, 3)).shape == (1, 2)


def test_gradient_probe_matches_autograd_on_the_module():
    task = get_task("adding")
    config = ModelConfig.for_task("transformer", task, hidden_size=8, num_layers=2, heads=2)
    model = build_model(config, seed=1).eval()
    inputs, targets = task.generate(3, 20, torch.Generator().manual_seed(0))
    flow = measure_gradient_flow(model, task, inputs, targets)
    # Independent: the float32 module's own forward (fused attention kernels), per-sequence losses summed.
    leaf = inputs.clone().requires_grad_(True)
    task.per_example_loss(model(leaf), targets).sum().backward()
    np.testing.assert_allclose(flow.input_grad_norm_per_step, leaf.grad.norm(dim=-1).mean(dim=0).numpy(), rtol=1e-4,
                               atol=1e-9)
    assert flow.grad_norm_per_step.shape == (2, 20) and flow.forget_gate_mean_per_step is None


def test_parameter_shapes_are_the_state_dicts():
    for positions, max_positions in (("sinusoidal", 0), ("learned", 30)):
        config = ModelConfig("transformer", input_size=3, output_size=2, hidden_size=8, num_layers=2,
                             positions=positions, max_positions=max_positions)
        shapes = {name: tuple(tensor.shape) for name, tensor in build_model(config, 0).state_dict().items()}
        assert config.parameter_shapes() == shapes


def test_transformer_settings_are_checked_with_a_message():
    with pytest.raises(ConfigError, match="must divide by its 4 attention heads"):
        ModelConfig("transformer", input_size=3, output_size=2, hidden_size=10, heads=4).validate()
    with pytest.raises(ConfigError, match="learned positions must be between"):
        ModelConfig("transformer", input_size=3, output_size=2, hidden_size=8, positions="learned").validate()
    # A run sizes the learned table at 4x its sequence length, so 2T and 4T can be tested.
    config = RunConfig(task="copy", length=30, archs=("transformer",), hidden_size=8, positions="learned")
    assert config.model_config("transformer").max_positions == 4 * get_task("copy").sequence_length(30)


def test_step_cost_estimate_grows_with_the_square_of_length_for_attention_only():
    def gflop(arch, length):
        return RunConfig(archs=(arch,), length=length, hidden_size=32).estimated_step_gflop()
    assert gflop("lstm", 800) / gflop("lstm", 100) == pytest.approx(8, rel=0.01)
    assert gflop("transformer", 800) / gflop("transformer", 100) > 12


def test_a_trained_transformer_saves_loads_and_exports_its_attention(tmp_path):
    from lstm_viz.core.trainer import Trainer
    from lstm_viz.io.export import load_model, save_run

    config = RunConfig(length=20, archs=("transformer",), hidden_size=8, max_steps=6, eval_every=3, probe_every=3,
                       eval_size=16, probe_size=4, positions="learned").validate()
    trainer = Trainer(config)
    trainer.advance(max_steps=6)
    save_run(trainer, tmp_path)
    loaded = load_model(tmp_path / "transformer.safetensors")
    assert loaded.config == config.model_config("transformer")
    inputs = trainer.trace_inputs
    with torch.no_grad():
        torch.testing.assert_close(loaded(inputs), trainer.runs["transformer"].model.eval()(inputs))
    arrays = np.load(tmp_path / "trace.npz", allow_pickle=False)
    attention = arrays["transformer/layer0/attention"]
    assert attention.shape == (len(arrays["transformer/checkpoint_steps"]), 4, 2, 20, 20)
    np.testing.assert_allclose(attention.sum(axis=-1), 1.0, atol=1e-5)
