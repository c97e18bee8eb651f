"""How much of the loss's gradient reaches each time step: the quantity behind vanishing gradients.

For every hidden state h_t of every layer this measures the full through-time derivative dL/dh_t
(through the recurrence, the layer above and the readout), by differentiating an unrolled loop of
the architecture's own step function in float64: the norms span 1e-40 to 1 and would underflow in
float32. It is a probe on a small fixed batch every k steps, never part of a training step.

A Transformer has no step function: its probe runs a float64 copy of the blocks over the whole sequence and
differentiates with respect to what each block reads at every position (`transformer_flow`).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from lstm_viz.core.architectures import layer_params
from lstm_viz.core.architectures.transformer import causal_mask
from lstm_viz.core.model import SequenceModel
from lstm_viz.core.tasks import Task


@dataclass
class GradientFlow:
    # (layers, T): mean over the probe sequences of ||dL_b/dh_t||_2, where L_b is sequence b's loss.
    grad_norm_per_step: np.ndarray
    # (T,): the same for what the first layer reads, ||dL_b/dx_t||_2: the inputs, or for a word task the embedded
    # token vectors (a one-hot input's gradient would only be the embedding's rows projected, at the vocabulary's size).
    input_grad_norm_per_step: np.ndarray
    # LSTM only, (layers, T): forget gate averaged over sequences and units.
    forget_gate_mean_per_step: np.ndarray | None = None
    # LSTM only, (layers, T): mean over sequences and units of prod_{k=t+1}^{T-1} f_k, the factor the
    # cell-state path applies to a gradient travelling from the last step back to step t.
    forget_product_per_step: np.ndarray | None = None
    # LSTM only, (layers, units): forget gate of each unit averaged over sequences and steps.
    forget_gate_mean_per_unit: np.ndarray | None = None


def first_layer_input(model: SequenceModel, inputs: Tensor) -> Tensor:
    """(B, T, D) float64: what the first layer reads (the inputs, or their embedding), cut from the weights' graph."""
    embedding = model.embedding
    if embedding is None:
        return inputs.double()
    weight = embedding.weight.detach().double()
    return weight[inputs] if not inputs.is_floating_point() else inputs.double() @ weight


def unrolled_forward(model: SequenceModel, inputs: Tensor) -> tuple[Tensor, list[list[Tensor]], list[list[dict[str, Tensor]]]]:
    """Run the model one step at a time in float64 with autograd on; returns outputs, h_t per layer, gates per layer."""
    return unrolled_forward_from(model, first_layer_input(model, inputs))


def unrolled_forward_from(model: SequenceModel, layer_input: Tensor) -> tuple[Tensor, list[list[Tensor]], list[list[dict[str, Tensor]]]]:
    """unrolled_forward from what the first layer reads, (B, T, D) float64."""
    architecture = model.architecture
    hidden_size = model.config.hidden_size
    batch_size = layer_input.shape[0]
    hidden_per_layer: list[list[Tensor]] = []
    gates_per_layer: list[list[dict[str, Tensor]]] = []
    for layer in range(model.config.num_layers):
        params = {name: p.detach().double() for name, p in layer_params(model.recurrent, layer).items()}
        # One matmul for every step's input term; unbind (not x[:, t]) keeps the backward linear in T.
        input_projection = torch.nn.functional.linear(layer_input, params["weight_ih"], params["bias_ih"])
        state = architecture.initial_state(batch_size, hidden_size, torch.float64)
        hiddens: list[Tensor] = []
        gates: list[dict[str, Tensor]] = []
        for projection_t in input_projection.unbind(1):
            state, step_gates = architecture.step(params, projection_t, state)
            hiddens.append(state[0])
            gates.append(step_gates)
        hidden_per_layer.append(hiddens)
        gates_per_layer.append(gates)
        layer_input = torch.stack(hiddens, dim=1)
    readout_weight = model.readout.weight.detach().double()
    readout_bias = model.readout.bias.detach().double()
    top = layer_input if model.config.readout == "every" else layer_input[:, -1]
    outputs = torch.nn.functional.linear(top, readout_weight, readout_bias)
    return outputs, hidden_per_layer, gates_per_layer


def measure_gradient_flow(model: SequenceModel, task: Task, inputs: Tensor, targets: Tensor) -> GradientFlow:
    inputs = first_layer_input(model, inputs.detach()).requires_grad_(True)
    targets = targets.double() if targets.is_floating_point() else targets
    if not model.architecture.recurrent:
        return transformer_flow(model, task, inputs, targets)
    outputs, hidden_per_layer, gates_per_layer = unrolled_forward_from(model, inputs)
    # Summing per-sequence losses makes each sequence's gradient its own: dL/dh_t^b = dL_b/dh_t^b.
    total_loss = task.per_example_loss(outputs, targets).sum()
    flat_hidden = [h for hiddens in hidden_per_layer for h in hiddens]
    gradients = torch.autograd.grad(total_loss, [inputs, *flat_hidden], allow_unused=True)
    input_grad = gradients[0]
    steps = inputs.shape[1]
    hidden_grads = [torch.zeros_like(h) if g is None else g for g, h in zip(gradients[1:], flat_hidden)]
    grad_norm = torch.stack([g.norm(dim=-1).mean() for g in hidden_grads]).view(len(hidden_per_layer), steps)
    flow = GradientFlow(
        grad_norm_per_step=grad_norm.numpy(),
        input_grad_norm_per_step=input_grad.norm(dim=-1).mean(dim=0).numpy(),
    )
    if gates_per_layer and "forget_gate" in gates_per_layer[0][0]:
        forget = torch.stack([torch.stack([g["forget_gate"].detach() for g in gates], dim=1) for gates in gates_per_layer])
        # forget: (layers, B, T, H) float64. Suffix sums of log f give prod_{k>t} f_k without underflow to 0 too early.
        log_forget = torch.log(forget)
        suffix = torch.flip(torch.cumsum(torch.flip(log_forget, dims=[2]), dim=2), dims=[2]) - log_forget
        flow.forget_gate_mean_per_step = forget.mean(dim=(1, 3)).numpy()
        flow.forget_product_per_step = torch.exp(suffix).mean(dim=(1, 3)).numpy()
        flow.forget_gate_mean_per_unit = forget.mean(dim=(1, 2)).numpy()
    return flow


def transformer_flow(model: SequenceModel, task: Task, inputs: Tensor, targets: Tensor) -> GradientFlow:
    """||dL_b/dx_t|| and, per block, ||dL_b/dh_t|| of the residual stream it reads at every position (its input: the
    embedded inputs plus positions for the first block, the block below's output for the others), in float64, eval
    mode. Its input, not its output: the top block's output at t reaches the loss only through the readout at t, so
    with a last-step readout its gradient is exactly 0 before the last position, while what a block reads at t is
    what attention carries to every later position, as h_t carries it through a recurrence."""
    transformer = copy.deepcopy(model.transformer).double().eval()
    readout = copy.deepcopy(model.readout).double()
    hidden = transformer.embed_positions(inputs)
    mask = causal_mask(hidden.shape[1], torch.float64)
    block_outputs: list[Tensor] = []  # what each block reads
    for block in transformer.layers:
        block_outputs.append(hidden)
        hidden = block(hidden, src_mask=mask, is_causal=True)
    top = transformer.final_norm(hidden)
    outputs = readout(top if model.config.readout == "every" else top[:, -1])
    total_loss = task.per_example_loss(outputs, targets).sum()
    input_grad, *block_grads = torch.autograd.grad(total_loss, [inputs, *block_outputs])
    return GradientFlow(
        grad_norm_per_step=torch.stack([grad.norm(dim=-1).mean(dim=0) for grad in block_grads]).detach().numpy(),
        input_grad_norm_per_step=input_grad.norm(dim=-1).mean(dim=0).detach().numpy(),
    )
