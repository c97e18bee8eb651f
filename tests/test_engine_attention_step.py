"""One Transformer position taken apart (lstm_viz.analysis.attention_step) against the block's own recomputation
(attention_parts), the model's trace, and a step written here with torch's functional ops."""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

from lstm_viz.analysis.attention_step import attention_step
from lstm_viz.core.architectures.transformer import attention_parts
from lstm_viz.core.model import ModelConfig, build_model
from lstm_viz.core.traces import trace
from lstm_viz.rules.errors import ConfigError


def transformer(positions="sinusoidal", max_positions=0):
    config = ModelConfig("transformer", input_size=3, output_size=2, hidden_size=12, num_layers=2, heads=3,
                         positions=positions, max_positions=max_positions)
    model = build_model(config, seed=3)
    with torch.no_grad():  # non-trivial norms and biases, so a step that dropped one would show
        for parameter in model.parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))
    return model.eval()


def written_here(model, inputs: np.ndarray, layer: int, head: int, t: int) -> dict[str, np.ndarray]:
    """The step by the equations, in float64 torch: F.layer_norm, the in-projection's three slices, a softmax over
    the prefix, the out-projection, the residual and the feed-forward block."""
    model = model.double()
    block_models = list(model.transformer.layers)
    x = model.transformer.embed_positions(torch.as_tensor(inputs, dtype=torch.float64)[None])
    mask = torch.triu(torch.full((len(inputs),) * 2, float("-inf"), dtype=torch.float64), diagonal=1)
    for block in block_models[:layer]:
        x = block(x, src_mask=mask, is_causal=True)
    x = x[0].detach()
    block = block_models[layer]
    width, heads = x.shape[1], model.config.heads
    d = width // heads
    n = torch.nn.functional.layer_norm(x, (width,), block.norm1.weight, block.norm1.bias, block.norm1.eps)
    w, b = block.self_attn.in_proj_weight, block.self_attn.in_proj_bias
    q, k, v = (n @ w[i * width:(i + 1) * width].T + b[i * width:(i + 1) * width] for i in range(3))
    heads_out, head_parts = [], None
    for h in range(heads):
        cols = slice(h * d, (h + 1) * d)
        scores = torch.stack([q[t, cols] @ k[s, cols] for s in range(t + 1)]) / math.sqrt(d)
        weights = torch.exp(scores) / torch.exp(scores).sum()
        out = sum(weights[s] * v[s, cols] for s in range(t + 1))
        heads_out.append(out)
        if h == head:
            head_parts = dict(query=q[t, cols], scores=scores, weights=weights, attended=out)
    attention_output = block.self_attn.out_proj(torch.cat(heads_out))
    residual = x[t] + attention_output
    normed2 = torch.nn.functional.layer_norm(residual, (width,), block.norm2.weight, block.norm2.bias, block.norm2.eps)
    output = residual + block.linear2(torch.relu(block.linear1(normed2)))
    return {name: value.detach().numpy() for name, value in
            {**head_parts, "attention_output": attention_output, "residual": residual, "block_output": output}.items()}


@pytest.mark.parametrize("layer, head, t", [(0, 0, 0), (0, 2, 6), (1, 1, 4), (1, 0, 8)])
def test_every_part_matches_a_step_written_here(layer, head, t):
    model = transformer()
    inputs = np.random.default_rng(layer * 10 + t).normal(size=(9, 3))
    step = attention_step(model, inputs, layer, head, t)
    expected = written_here(copy.deepcopy(model), inputs, layer, head, t)  # a copy: written_here casts to float64
    for name, value in expected.items():
        np.testing.assert_allclose(getattr(step, name), value, atol=1e-10, err_msg=name)
    assert step.weights.sum() == pytest.approx(1.0, abs=1e-12) and len(step.scores) == t + 1


def test_attention_and_block_output_match_the_trace_and_attention_parts():
    model = transformer(positions="learned", max_positions=20)
    inputs = np.random.default_rng(7).normal(size=(10, 3)).astype(np.float32)
    traced = trace(model, torch.as_tensor(inputs)[None])
    for layer in range(2):
        for t in (0, 5, 9):
            step = attention_step(model, inputs, layer, 1, t)
            # The trace (float32, the whole sequence at once): row t of head 1, and the block's output at t.
            np.testing.assert_allclose(step.weights, traced.attention[layer][0, 1, t, : t + 1], atol=1e-6)
            np.testing.assert_allclose(step.block_output, traced.layers[layer]["hidden_state"][0, t], atol=1e-5)
    # attention_parts in float64 on the prefix: the same q, k, v and scores.
    double = copy.deepcopy(model).double()
    hidden = double.transformer.embed_positions(torch.as_tensor(inputs[:6], dtype=torch.float64)[None])
    parts = attention_parts(double.transformer.layers[0], hidden)
    step = attention_step(model, inputs, 0, 2, 5)
    np.testing.assert_allclose(step.keys, parts["key"][0, 2].detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(step.values, parts["value"][0, 2].detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(step.scores, parts["scores"][0, 2, 5].detach().numpy(), atol=1e-10)


def test_the_step_sees_no_later_position_and_its_equations_add_up():
    model = transformer()
    inputs = np.random.default_rng(1).normal(size=(9, 3))
    changed = inputs.copy()
    changed[5:] += 5.0
    before, after = attention_step(model, inputs, 1, 0, 4), attention_step(model, changed, 1, 0, 4)
    np.testing.assert_array_equal(before.block_output, after.block_output)
    residual = before.equations(unit=7)[5][1]
    x, added, y = before.block_input[4, 7], before.attention_output[7], before.residual[7]
    assert y == pytest.approx(x + added, abs=1e-12)
    # The line shows x_t, what attention adds and their sum, each to 4 decimals, signs folded into the operator.
    assert f"&= {x:.4f} {'-' if added < 0 else '+'} {abs(added):.4f} = {y:.4f}" in residual


def test_a_recurrent_model_or_a_position_out_of_range_is_refused_with_a_message():
    lstm = build_model(ModelConfig("lstm", input_size=3, output_size=2, hidden_size=4), seed=0)
    with pytest.raises(ConfigError, match="needs a Transformer"):
        attention_step(lstm, np.zeros((5, 3)), 0, 0, 2)
    with pytest.raises(ConfigError, match="head 1 to 3"):
        attention_step(transformer(), np.zeros((5, 3)), 0, 3, 2)


def test_the_transformers_gradient_probe_measures_what_each_block_reads_at_every_position():
    """The probe's per-position norms for a Transformer are ||dL/d(block input)||: computed here by autograd on the
    module's own blocks, from a leaf made of the embedded inputs (block 1) and from block 1's output (block 2)."""
    from lstm_viz.core.gradient_flow import measure_gradient_flow
    from lstm_viz.core.tasks import get_task

    task = get_task("adding")
    model = build_model(ModelConfig.for_task("transformer", task, hidden_size=8, num_layers=2, heads=2), seed=2)
    inputs, targets = task.generate(3, 15, torch.Generator().manual_seed(1))
    flow = measure_gradient_flow(model, task, inputs, targets)
    double = copy.deepcopy(model).double().eval()
    mask = torch.triu(torch.full((15, 15), float("-inf"), dtype=torch.float64), diagonal=1)
    first = double.transformer.embed_positions(inputs.double()).detach().requires_grad_(True)
    second = double.transformer.layers[0](first, src_mask=mask, is_causal=True)
    second.retain_grad()
    top = double.transformer.final_norm(double.transformer.layers[1](second, src_mask=mask, is_causal=True))
    task.per_example_loss(double.readout(top[:, -1]), targets.double()).sum().backward()
    for layer, leaf in enumerate((first, second)):
        np.testing.assert_allclose(flow.grad_norm_per_step[layer], leaf.grad.norm(dim=-1).mean(dim=0).numpy(),
                                   rtol=1e-9)
    # Unlike the top block's output (read only by the readout at t), every position's input gets gradient.
    assert (flow.grad_norm_per_step > 0).all()


def test_a_transformer_samples_text_by_rerunning_its_prefix_and_reads_text_through_its_final_norm():
    from lstm_viz.analysis.text_generation import read_text, sample_characters
    from lstm_viz.core.tasks import get_task

    task = get_task("brackets")
    model = build_model(ModelConfig.for_task("transformer", task, hidden_size=8, heads=2), seed=4).eval()
    with torch.no_grad():  # a sharper readout, so the near-greedy draw below has clear winners
        model.readout.weight.mul_(20.0)
    prompt = "(a [b"
    sampled = sample_characters(model, task, prompt, 12, temperature=0.05, seed=0)
    # Independent: the module's own forward on the prompt plus what was drawn, its most likely next character.
    alphabet, text = task.alphabet, prompt
    for character in sampled:
        inputs = torch.as_tensor(task.encode_text(text)[0]).unsqueeze(0)
        with torch.no_grad():
            logits = model(inputs)[0, -1].double()
        logits[0] = -torch.inf  # the unknown token is never drawn
        assert character == alphabet[int(logits.argmax())]
        text += character
    reading = read_text(model, task, prompt)
    with torch.no_grad():
        expected = torch.softmax(model(torch.as_tensor(task.encode_text(prompt)[0]).unsqueeze(0))[0].double(), dim=-1)
    np.testing.assert_allclose(reading.probabilities, expected.numpy(), atol=1e-5)


def test_text_longer_than_a_learned_position_table_is_refused_with_a_message():
    from lstm_viz.analysis.text_generation import read_text
    from lstm_viz.core.tasks import get_task

    task = get_task("brackets")
    learned = build_model(ModelConfig.for_task("transformer", task, hidden_size=8, heads=2, positions="learned",
                                               max_positions=10), seed=0)
    assert read_text(learned, task, "(" * 10).probabilities.shape[0] == 10
    with pytest.raises(ConfigError, match="learned positions cover 10 steps and the text has 11"):
        read_text(learned, task, "(" * 11)
    sinusoidal = build_model(ModelConfig.for_task("transformer", task, hidden_size=8, heads=2), seed=0)
    assert read_text(sinusoidal, task, "(" * 40).probabilities.shape[0] == 40
