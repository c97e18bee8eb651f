"""The vanilla (Elman) recurrent network with tanh: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from lstm_viz.core.architectures.base import Architecture, LayerParams, StackedRecurrence, State


def run_layer(layer_input: Tensor, initial: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias: Tensor,
              keep_preactivation: bool = False) -> tuple[Tensor, Tensor | None]:
    """hidden (T,B,H) for layer_input (T,B,D), and the preactivation z_t (T,B,H) if asked; bias = b_ih + b_hh.
    Without the preactivation each step squashes its z_t in place."""
    steps, batch, _ = layer_input.shape
    # Every step's input term in one matmul; each step then adds h_{t-1} W_hh^T to its slice.
    preactivation = torch.addmm(bias, layer_input.reshape(steps * batch, -1), weight_ih.t()).view(steps, batch, -1)
    recurrent_weight = weight_hh.t().contiguous()  # a transposed operand measured slower in the per-step matmul
    if not keep_preactivation:
        for h in preactivation.unbind(0):
            initial = h.addmm_(initial, recurrent_weight).tanh_()
        return preactivation, None
    hidden = torch.empty_like(preactivation)
    for z, h in zip(preactivation.unbind(0), hidden.unbind(0)):
        initial = torch.tanh(z.addmm_(initial, recurrent_weight), out=h)
    return hidden, preactivation


class TanhRecurrence(torch.autograd.Function):
    """One tanh layer over all steps, time-major. Backward: one reverse loop for dL/dz_t (one matmul
    and one multiply per step); every weight and input gradient is then one matmul over all steps."""

    @staticmethod
    def forward(ctx, layer_input, initial, weight_ih, weight_hh, bias_ih, bias_hh):
        hidden, _ = run_layer(layer_input, initial, weight_ih, weight_hh, bias_ih + bias_hh)
        ctx.save_for_backward(layer_input, initial, weight_ih, weight_hh, hidden)
        return hidden

    @staticmethod
    def backward(ctx, grad_hidden):
        layer_input, initial, weight_ih, weight_hh, hidden = ctx.saved_tensors
        steps, batch, hidden_size = hidden.shape
        # dL/dz_t = (dL/dh_t from above + dL/dz_{t+1} W_hh) * tanh'(z_t), tanh' = 1 - h_t^2.
        grad_preactivation = torch.empty_like(hidden).copy_(grad_hidden)  # (T, B, H)
        derivative = torch.addcmul(hidden.new_ones(()), hidden, hidden, value=-1.0)  # one pass, not three
        grads, derivatives = grad_preactivation.unbind(0), derivative.unbind(0)
        grads[-1].mul_(derivatives[-1])
        for t in range(steps - 2, -1, -1):
            grads[t].addmm_(grads[t + 1], weight_hh).mul_(derivatives[t])
        flat_grad = grad_preactivation.view(steps * batch, hidden_size)
        # sum_t dz_t^T h_{t-1}: steps 1.. against h_0..h_{T-2}, then step 0 against the initial state.
        grad_weight_hh = torch.mm(hidden[:-1].reshape(-1, hidden_size).t(), flat_grad[batch:]).t()
        grad_weight_hh = grad_weight_hh.addmm(grads[0].t(), initial)
        # x^T dz, transposed afterwards: for a narrow input (D=2) this order measured several times faster.
        grad_weight_ih = torch.mm(layer_input.reshape(steps * batch, -1).t(), flat_grad).t().contiguous()
        grad_bias = flat_grad.sum(0)
        grad_input = torch.mm(flat_grad, weight_ih).view(steps, batch, -1) if ctx.needs_input_grad[0] else None
        grad_initial = torch.mm(grads[0], weight_hh) if ctx.needs_input_grad[1] else None
        # Both biases get the same gradient; separate tensors, since each becomes a parameter's .grad.
        return grad_input, grad_initial, grad_weight_ih, grad_weight_hh, grad_bias, grad_bias.clone()


class FastRNN(StackedRecurrence, nn.RNN):
    """nn.RNN whose training step runs TanhRecurrence."""

    layer_function = TanhRecurrence


def trace_layer(params: LayerParams, layer_input: Tensor) -> dict[str, Tensor]:
    initial = layer_input.new_zeros(layer_input.shape[1], params["weight_hh"].shape[1])
    hidden, preactivation = run_layer(layer_input, initial, params["weight_ih"], params["weight_hh"],
                                      params["bias_ih"] + params["bias_hh"], keep_preactivation=True)
    return {"preactivation": preactivation, "hidden_state": hidden}


def step(params: LayerParams, input_projection: Tensor, state: State) -> tuple[State, dict[str, Tensor]]:
    (hidden,) = state
    hidden = torch.tanh(input_projection + hidden @ params["weight_hh"].t() + params["bias_hh"])
    return (hidden,), {}


RNN = Architecture(
    name="rnn",
    label="RNN (tanh)",
    fused_class=nn.RNN,
    cell_class=nn.RNNCell,
    gate_count=1,
    trace_names=("preactivation", "hidden_state"),
    gate_names=(),
    description="No gates: every step multiplies the state by W_hh and squashes it with tanh.",
    trace_layer=trace_layer,
    step=step,
    module_class=FastRNN,
)
