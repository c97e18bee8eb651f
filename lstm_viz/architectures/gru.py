"""Gated recurrent unit (Cho et al. 2014) as PyTorch defines it: gate order reset, update, candidate,
and the reset gate applied to (W_hn h + b_hn), not to h.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from .base import Architecture, LayerParams, StackedRecurrence, State


def run_layer(layer_input: Tensor, initial: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor,
              bias_hh: Tensor, difference: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """For layer_input (T,B,D): gates (T,B,3H) holding r_t, z_t and W_hn h_{t-1} + b_hn, the candidate n_t
    (T,B,H) and the hidden state h_t (T,B,H). A given (T,B,H) `difference` receives h_{t-1} - n_t."""
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
    if difference is None:
        difference = torch.empty_like(candidate)
    recurrent_weight = weight_hh.t().contiguous()
    previous = initial
    for g, rz, r, z, hn, n, d, h in zip(
        gates.unbind(0), gates[..., reset_update].unbind(0), gates[..., :hidden_size].unbind(0),
        gates[..., hidden_size : reset_update.stop].unbind(0), gates[..., new].unbind(0), candidate.unbind(0),
        difference.unbind(0), hidden.unbind(0),
    ):
        g.addmm_(previous, recurrent_weight)
        rz.sigmoid_()
        n.addcmul_(r, hn).tanh_()
        # h_t = (1 - z) n + z h_{t-1} = n + z (h_{t-1} - n); torch.lerp measured several times slower here.
        previous = torch.addcmul(n, z, torch.sub(previous, n, out=d), out=h)
    return gates, candidate, hidden


class GatedRecurrence(torch.autograd.Function):
    """One GRU layer over all steps, time-major. Everything a step's backward does is linear in dL/dh_t,
    so its coefficients are computed for all steps at once; the reverse loop is then one multiply,
    one multiply-add and one matmul per step, and the weight gradients one matmul each over all steps."""

    @staticmethod
    def forward(ctx, layer_input, initial, weight_ih, weight_hh, bias_ih, bias_hh):
        steps, batch, _ = layer_input.shape
        hidden_size = weight_hh.shape[1]
        # (T, B, 2, H): the z block receives h_{t-1} - n_t now; backward fills the r block.
        factors = torch.empty(steps, batch, 2, hidden_size, dtype=layer_input.dtype)
        gates, candidate, hidden = run_layer(layer_input, initial, weight_ih, weight_hh, bias_ih, bias_hh,
                                             difference=factors[:, :, 1])
        ctx.save_for_backward(layer_input, initial, weight_ih, weight_hh, hidden, gates, candidate, factors)
        return hidden

    @staticmethod
    def backward(ctx, grad_hidden):
        layer_input, initial, weight_ih, weight_hh, hidden, gates, candidate, factors = ctx.saved_tensors
        steps, batch, hidden_size = hidden.shape
        flat_rows = steps * batch
        reset_update = slice(0, 2 * hidden_size)
        r, z, hn = gates.view(steps, batch, 3, hidden_size).unbind(2)
        # With a = h_{t-1} W_hh^T + b_hh, the recurrent term, and dh = dL/dh_t:
        #   n block: dL/dn_pre = (1 - z)(1 - n^2) dh = new_factor * dh, and dL/da_n = r * that;
        #   r block: dL/da_r = new_factor * hn * r(1 - r) dh;  z block: dL/da_z = (h_{t-1} - n) z(1 - z) dh.
        new_factor = torch.mul(candidate, candidate).neg_().add_(1.0)
        new_factor.addcmul_(new_factor, z, value=-1.0)
        torch.mul(new_factor, hn, out=factors[:, :, 0])
        coefficient = torch.empty(steps, batch, 3, hidden_size, dtype=hidden.dtype)  # dL/da_t = dh * coefficient
        reset_update_gates = gates[..., reset_update].view(steps, batch, 2, hidden_size)
        sigmoid_derivative = torch.addcmul(reset_update_gates, reset_update_gates, reset_update_gates, value=-1.0)
        torch.mul(sigmoid_derivative, factors, out=coefficient[:, :, :2])
        torch.mul(new_factor, r, out=coefficient[:, :, 2])

        grad_h = torch.empty_like(hidden).copy_(grad_hidden)  # (T, B, H), becomes the full dL/dh_t
        grad_recurrent = torch.empty(steps, batch, 3, hidden_size, dtype=hidden.dtype)  # dL/da_t
        # dh broadcast over the three blocks as an expanded view: measured faster than broadcasting inside torch.mul.
        grad_h_steps = grad_h.unbind(0)
        grad_h_columns = grad_h.unsqueeze(2).expand(steps, batch, 3, hidden_size).unbind(0)
        grad_recurrent_steps, grad_recurrent_flat = grad_recurrent.unbind(0), grad_recurrent.view(steps, batch, -1).unbind(0)
        coefficients, updates = coefficient.unbind(0), z.unbind(0)
        for t in range(steps - 1, 0, -1):
            torch.mul(grad_h_columns[t], coefficients[t], out=grad_recurrent_steps[t])
            grad_h_steps[t - 1].addcmul_(grad_h_steps[t], updates[t]).addmm_(grad_recurrent_flat[t], weight_hh)
        torch.mul(grad_h_columns[0], coefficients[0], out=grad_recurrent_steps[0])

        flat_recurrent = grad_recurrent.view(flat_rows, 3 * hidden_size)
        grad_weight_hh = torch.mm(hidden[:-1].reshape(-1, hidden_size).t(), flat_recurrent[batch:]).t()
        grad_weight_hh = grad_weight_hh.addmm(flat_recurrent[:batch].t(), initial)
        grad_bias_hh = flat_recurrent.sum(0)
        # The input term's gradient is the recurrent one in the r and z blocks, and dL/dn_pre in the n block.
        grad_new = torch.mul(grad_h, new_factor).view(flat_rows, hidden_size)
        flat_input = layer_input.reshape(flat_rows, -1)
        # x^T g, transposed afterwards: for a narrow input (D=2) this order measured several times faster.
        grad_weight_ih = torch.cat([torch.mm(flat_input.t(), flat_recurrent[:, reset_update]),
                                    torch.mm(flat_input.t(), grad_new)], dim=1).t().contiguous()
        grad_bias_ih = torch.cat([grad_bias_hh[reset_update], grad_new.sum(0)])
        grad_input = None
        if ctx.needs_input_grad[0]:
            grad_input = torch.mm(flat_recurrent[:, reset_update], weight_ih[reset_update])
            grad_input = grad_input.addmm_(grad_new, weight_ih[2 * hidden_size :]).view(steps, batch, -1)
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
