"""Gated recurrent unit (Cho et al. 2014) as PyTorch defines it: gate order reset, update, candidate,
and the reset gate applied to (W_hn h + b_hn), not to h.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from .base import Architecture, LayerParams, StackedRecurrence, State


def run_layer(layer_input: Tensor, initial: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor,
              bias_hh: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """For layer_input (T,B,D): gates (T,B,3H) holding r_t, z_t and W_hn h_{t-1} + b_hn, the candidate n_t
    (T,B,H) and the hidden state h_t (T,B,H)."""
    steps, batch, input_size = layer_input.shape
    hidden_size = weight_hh.shape[1]
    flat_input = layer_input.reshape(steps * batch, input_size)
    reset_update = slice(0, 2 * hidden_size)
    new = slice(2 * hidden_size, 3 * hidden_size)
    # The gate buffer starts as every step's input term of r and z (both biases in) and b_hn; each step
    # adds h_{t-1} W_hh^T to its slice in place, one matmul for all three blocks. Zero rows keep x out of
    # the n block, whose input term stays apart (r multiplies only the recurrent term).
    gate_weight = torch.cat([weight_ih[reset_update], weight_ih.new_zeros(hidden_size, input_size)])
    gate_bias = torch.cat([bias_ih[reset_update] + bias_hh[reset_update], bias_hh[new]])
    gates = torch.addmm(gate_bias, flat_input, gate_weight.t()).view(steps, batch, 3 * hidden_size)
    candidate = torch.addmm(bias_ih[new], flat_input, weight_ih[new].t()).view(steps, batch, hidden_size)
    hidden = torch.empty_like(candidate)
    recurrent_weight = weight_hh.t().contiguous()
    previous = initial
    for g, rz, r, z, hn, n, h in zip(gates.unbind(0), gates[..., reset_update].unbind(0),
                                     gates[..., :hidden_size].unbind(0), gates[..., hidden_size:reset_update.stop].unbind(0),
                                     gates[..., new].unbind(0), candidate.unbind(0), hidden.unbind(0)):
        g.addmm_(previous, recurrent_weight)
        rz.sigmoid_()
        n.addcmul_(r, hn).tanh_()
        previous = torch.lerp(n, previous, z, out=h)  # (1 - z) n + z h_{t-1}
    return gates, candidate, hidden


class GatedRecurrence(torch.autograd.Function):
    """One GRU layer over all steps, time-major. Everything a step's backward does is linear in dL/dh_t,
    so its coefficients are computed for all steps at once; the reverse loop is then one multiply,
    one multiply-add and one matmul per step, and the weight gradients one matmul each over all steps."""

    @staticmethod
    def forward(ctx, layer_input, initial, weight_ih, weight_hh, bias_ih, bias_hh):
        gates, candidate, hidden = run_layer(layer_input, initial, weight_ih, weight_hh, bias_ih, bias_hh)
        ctx.save_for_backward(layer_input, initial, weight_ih, weight_hh, hidden, gates, candidate)
        return hidden

    @staticmethod
    def backward(ctx, grad_hidden):
        layer_input, initial, weight_ih, weight_hh, hidden, gates, candidate = ctx.saved_tensors
        steps, batch, hidden_size = hidden.shape
        r, z, hn = gates.view(steps, batch, 3, hidden_size).unbind(2)
        # d(preactivation)/dh_t per block, for the recurrent term a = h_{t-1} W_hh^T + b_hh:
        #   n block: dn_pre = (1 - z)(1 - n^2) dh, and da_n = r dn_pre;
        #   r block: da_r = dn_pre * hn * r(1 - r);  z block: da_z = (h_{t-1} - n) z(1 - z) dh.
        coefficient = torch.empty(steps, batch, 3, hidden_size, dtype=hidden.dtype)
        coefficient_r, coefficient_z, coefficient_n = coefficient.unbind(2)
        grad_new_factor = torch.mul(candidate, candidate).neg_().add_(1.0)
        grad_new_factor.addcmul_(grad_new_factor, z, value=-1.0)
        torch.mul(grad_new_factor, r, out=coefficient_n)
        torch.mul(coefficient_n, hn, out=coefficient_r)
        coefficient_r.addcmul_(coefficient_r, r, value=-1.0)
        torch.sub(hidden[:-1], candidate[1:], out=coefficient_z[1:])
        torch.sub(initial, candidate[0], out=coefficient_z[0])
        coefficient_z.mul_(z)
        coefficient_z.addcmul_(coefficient_z, z, value=-1.0)

        grad_h = torch.empty_like(hidden).copy_(grad_hidden)  # (T, B, H), becomes the full dL/dh_t
        grad_recurrent = torch.empty(steps, batch, 3, hidden_size, dtype=hidden.dtype)  # dL/da_t
        grad_h_steps, grad_h_columns = grad_h.unbind(0), grad_h.unsqueeze(2).unbind(0)
        grad_recurrent_steps, grad_recurrent_flat = grad_recurrent.unbind(0), grad_recurrent.view(steps, batch, -1).unbind(0)
        coefficients, updates = coefficient.unbind(0), z.unbind(0)
        for t in range(steps - 1, 0, -1):
            torch.mul(grad_h_columns[t], coefficients[t], out=grad_recurrent_steps[t])
            grad_h_steps[t - 1].addcmul_(grad_h_steps[t], updates[t]).addmm_(grad_recurrent_flat[t], weight_hh)
        torch.mul(grad_h_columns[0], coefficients[0], out=grad_recurrent_steps[0])

        flat_recurrent = grad_recurrent.view(steps * batch, 3 * hidden_size)
        grad_weight_hh = torch.mm(hidden[:-1].reshape(-1, hidden_size).t(), flat_recurrent[batch:]).t()
        grad_weight_hh = grad_weight_hh.addmm(flat_recurrent[:batch].t(), initial)
        grad_bias_hh = flat_recurrent.sum(0)
        # The input term's gradient equals the recurrent one in the r and z blocks; in the n block it is dn_pre.
        grad_projection = grad_recurrent.clone()
        torch.mul(grad_h, grad_new_factor, out=grad_projection[:, :, 2])
        flat_projection = grad_projection.view(steps * batch, 3 * hidden_size)
        grad_weight_ih = torch.mm(layer_input.reshape(steps * batch, -1).t(), flat_projection).t().contiguous()
        grad_bias_ih = flat_projection.sum(0)
        grad_input = torch.mm(flat_projection, weight_ih).view(steps, batch, -1) if ctx.needs_input_grad[0] else None
        grad_initial = None
        if ctx.needs_input_grad[1]:
            grad_initial = torch.addmm(grad_h_steps[0] * updates[0], grad_recurrent_flat[0], weight_hh)
        return grad_input, grad_initial, grad_weight_ih, grad_weight_hh, grad_bias_ih, grad_bias_hh


class FastGRU(StackedRecurrence, nn.GRU):
    """nn.GRU whose training step runs GatedRecurrence."""

    layer_function = GatedRecurrence


def trace_layer(params: LayerParams, layer_input: Tensor) -> dict[str, Tensor]:
    hidden_size = params["weight_hh"].shape[1]
    initial = layer_input.new_zeros(layer_input.shape[1], hidden_size)
    gates, candidate, hidden = run_layer(layer_input, initial, params["weight_ih"], params["weight_hh"],
                                         params["bias_ih"], params["bias_hh"])
    return {
        "reset_gate": gates[..., :hidden_size],
        "update_gate": gates[..., hidden_size: 2 * hidden_size],
        "candidate": candidate,
        "hidden_state": hidden,
    }


def step(params: LayerParams, input_projection: Tensor, state: State) -> tuple[State, dict[str, Tensor]]:
    (hidden,) = state
    hidden_projection = hidden @ params["weight_hh"].t() + params["bias_hh"]
    input_r, input_z, input_n = input_projection.chunk(3, dim=-1)
    hidden_r, hidden_z, hidden_n = hidden_projection.chunk(3, dim=-1)
    reset_gate = torch.sigmoid(input_r + hidden_r)
    update_gate = torch.sigmoid(input_z + hidden_z)
    candidate = torch.tanh(input_n + reset_gate * hidden_n)
    hidden = (1.0 - update_gate) * candidate + update_gate * hidden
    return (hidden,), {"update_gate": update_gate}


GRU = Architecture(
    name="gru",
    label="GRU",
    fused_class=nn.GRU,
    cell_class=nn.GRUCell,
    gate_count=3,
    trace_names=("reset_gate", "update_gate", "candidate", "hidden_state"),
    gate_names=("reset_gate", "update_gate"),
    description="Two gates and no separate cell: the update gate interpolates old and new state.",
    trace_layer=trace_layer,
    step=step,
    module_class=FastGRU,
)
