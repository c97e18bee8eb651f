"""Long short-term memory (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000).

PyTorch's gate order in the stacked weight matrices is input, forget, candidate (g), output.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from lstm_viz.core.architectures.base import Architecture, LayerParams, State, with_ones_column


# The trace's gate order inside its buffer: the three sigmoid gates side by side, so one call squashes
# them all and one tanh the candidate. PyTorch's weights are stacked i, f, g, o.
SIGMOID_FIRST = (0, 1, 3, 2)


def trace_layer(params: LayerParams, layer_input: Tensor) -> dict[str, Tensor]:
    # Run the recurrence itself, keeping every gate: measured faster than PyTorch's fused forward followed
    # by rebuilding the gates from its h_t (which costs a second matmul of the forward's size, plus passes
    # over the whole (T, B, 4H) block that a per-step loop makes while the step's data is in cache).
    steps, batch, input_size = layer_input.shape
    hidden_size = params["weight_hh"].shape[1]

    def reordered(tensor: Tensor) -> Tensor:
        return torch.cat([tensor[gate * hidden_size : (gate + 1) * hidden_size] for gate in SIGMOID_FIRST])

    # Row t of `operands` is [h_{t-1} | x_t | 1] for a narrow input (fewer columns than the state), so one
    # matmul per step gives the step's whole preactivation, input term and biases included: measured faster
    # than a matmul for every step's input term first, whose (T, B, 4H) result each step then reads back.
    # A wide input (a second layer's) doubles that per-step matmul: there the input terms come first, in
    # one matmul over all steps, and each step adds its h_{t-1} term; row t is [h_{t-1}].
    fold_input = input_size < hidden_size
    input_weight = torch.cat([reordered(params["weight_ih"]), reordered(params["bias_ih"] + params["bias_hh"])[:, None]], 1)
    operands = torch.empty(steps + 1, batch, hidden_size + (input_size + 1 if fold_input else 0), dtype=layer_input.dtype)
    operands[0, :, :hidden_size] = 0.0
    if fold_input:
        operands[:steps, :, hidden_size:-1] = layer_input
        operands[..., -1] = 1.0
        weight = torch.cat([reordered(params["weight_hh"]), input_weight], 1).t().contiguous()
        preactivation = torch.empty(steps, batch, 4 * hidden_size, dtype=layer_input.dtype)
    else:
        weight = reordered(params["weight_hh"]).t().contiguous()
        preactivation = torch.mm(with_ones_column(layer_input.reshape(steps * batch, input_size)),
                                 input_weight.t()).view(steps, batch, 4 * hidden_size)
    input_gate, forget_gate, output_gate, candidate = preactivation.split(hidden_size, dim=-1)
    cell_state = torch.empty(steps, batch, hidden_size, dtype=layer_input.dtype)
    hidden_state = operands[1:, :, :hidden_size]
    cell = layer_input.new_zeros(batch, hidden_size)
    for operand, a, sigmoid_block, i, f, o, g, c, h in zip(
        operands.unbind(0), preactivation.unbind(0), preactivation[..., : 3 * hidden_size].unbind(0),
        input_gate.unbind(0), forget_gate.unbind(0), output_gate.unbind(0), candidate.unbind(0), cell_state.unbind(0),
        hidden_state.unbind(0),
    ):
        if fold_input:
            torch.mm(operand, weight, out=a)  # measured faster than addmm_ with beta=0
        else:
            a.addmm_(operand, weight)
        sigmoid_block.sigmoid_()
        g.tanh_()
        cell = torch.mul(i, g, out=c).addcmul_(f, cell)  # c_t = i_t g_t + f_t c_{t-1}
        torch.tanh(cell, out=h).mul_(o)  # h_t = o_t tanh(c_t), written where step t + 1 reads it
    return {
        "input_gate": input_gate,
        "forget_gate": forget_gate,
        "candidate": candidate,
        "output_gate": output_gate,
        "cell_state": cell_state,
        "hidden_state": hidden_state,
    }


def step(params: LayerParams, input_projection: Tensor, state: State) -> tuple[State, dict[str, Tensor]]:
    hidden, cell = state
    preactivation = input_projection + hidden @ params["weight_hh"].t() + params["bias_hh"]
    i, f, g, o = preactivation.chunk(4, dim=-1)
    input_gate, forget_gate, candidate, output_gate = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    cell = forget_gate * cell + input_gate * candidate
    hidden = output_gate * torch.tanh(cell)
    return (hidden, cell), {"forget_gate": forget_gate}


LSTM = Architecture(
    name="lstm",
    label="LSTM",
    fused_class=nn.LSTM,
    cell_class=nn.LSTMCell,
    gate_count=4,
    trace_names=("input_gate", "forget_gate", "candidate", "output_gate", "cell_state", "hidden_state"),
    gate_names=("input_gate", "forget_gate", "output_gate"),
    description="Gated cell state: the forget gate decides what memory survives each step.",
    trace_layer=trace_layer,
    step=step,
    state_size=2,
)
