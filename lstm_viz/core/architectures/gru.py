"""Gated recurrent unit (Cho et al. 2014) as PyTorch defines it: gate order reset, update, candidate,
and the reset gate applied to (W_hn h + b_hn), not to h.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from lstm_viz.core.architectures.base import Architecture, LayerParams, StackedRecurrence, State, with_ones_column

# One layer's forward keeps every step in one (T, B, 5H) buffer, five H-wide blocks per row:
#   n (candidate) | free | hn = W_hn h_{t-1} + b_hn | r (reset) | z (update)
# so that [hn, r, z] is one block for the step's single matmul and [r, z] one block for its sigmoid.
# Backward overwrites the buffer in place with dL/d(pre-activation) per unit of dL/dh_t:
#   n_pre | z | r | hn (the recurrent term, before r) | z kept
# whose first three blocks are the input projection's gradient and blocks 1-3 the recurrent one; no
# other (T, B, ...) array is allocated (fresh allocations of this size cost page faults every step).
FORWARD_RECURRENT_ORDER = "nrz"  # W_hh rows for the forward buffer's [hn, r, z]
BACKWARD_RECURRENT_ORDER = "zrn"  # W_hh rows for the backward buffer's blocks 1-3
BACKWARD_INPUT_ORDER = "nzr"  # W_ih rows for the backward buffer's blocks 0-2
GATE_INDEX = {"r": 0, "z": 1, "n": 2}  # PyTorch's order in the stacked weights


def in_gate_order(tensor: Tensor, order: str, hidden_size: int, dim: int = 0) -> Tensor:
    """The three H-wide gate blocks of a tensor stacked in PyTorch's order (r, z, n) along `dim`,
    rearranged into `order`."""
    return torch.cat([tensor.narrow(dim, GATE_INDEX[gate] * hidden_size, hidden_size) for gate in order], dim)


def from_gate_order(tensor: Tensor, order: str, hidden_size: int, dim: int = 0) -> Tensor:
    """The inverse of `in_gate_order`: blocks stacked in `order`, back into PyTorch's r, z, n."""
    return torch.cat([tensor.narrow(dim, order.index(gate) * hidden_size, hidden_size) for gate in "rzn"], dim)


def run_layer(layer_input: Tensor, initial: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor,
              bias_hh: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """One layer over layer_input (T,B,D): the (T,B,5H) buffer above, the states (T+1,B,H+1) holding
    [h_{t-1} | 1] for t = 0..T (the initial state first), and the input as (T*B, D+1) [x_t | 1]."""
    steps, batch, input_size = layer_input.shape
    hidden_size = weight_hh.shape[1]
    rows, new = steps * batch, slice(2 * hidden_size, 3 * hidden_size)
    flat_input = with_ones_column(layer_input.reshape(rows, input_size))
    buffer = torch.empty(steps, batch, 5 * hidden_size, dtype=layer_input.dtype)
    flat = buffer.view(rows, 5 * hidden_size)
    # Every step's input terms in two matmuls: n's (b_in in) and r's and z's (both their biases in).
    torch.mm(flat_input, torch.cat([weight_ih[new], bias_ih[new, None]], 1).t(), out=flat[:, :hidden_size])
    reset_update_bias = (bias_ih[: 2 * hidden_size] + bias_hh[: 2 * hidden_size])[:, None]
    torch.mm(flat_input, torch.cat([weight_ih[: 2 * hidden_size], reset_update_bias], 1).t(), out=flat[:, 3 * hidden_size :])
    flat[:, new].copy_(bias_hh[new].expand(rows, hidden_size))
    states = torch.empty(steps + 1, batch, hidden_size + 1, dtype=layer_input.dtype)
    states[..., -1] = 1.0
    states[0, :, :-1] = initial
    recurrent_weight = in_gate_order(weight_hh, FORWARD_RECURRENT_ORDER, hidden_size).t().contiguous()
    previous = states[0, :, :-1]
    H = hidden_size
    for g, rz, r, z, hn, n, h in zip(
        buffer[..., 2 * H :].unbind(0), buffer[..., 3 * H :].unbind(0), buffer[..., 3 * H : 4 * H].unbind(0),
        buffer[..., 4 * H :].unbind(0), buffer[..., 2 * H : 3 * H].unbind(0), buffer[..., :H].unbind(0),
        states[1:, :, :-1].unbind(0),
    ):
        g.addmm_(previous, recurrent_weight)
        rz.sigmoid_()
        n.addcmul_(r, hn).tanh_()
        previous = torch.lerp(n, previous, z, out=h)  # h_t = (1 - z) n + z h_{t-1}
    return buffer, states, flat_input


class GatedRecurrence(torch.autograd.Function):
    """One GRU layer over all steps, time-major. Everything a step's backward does is linear in dL/dh_t,
    so its coefficients are computed for all steps at once, in place in the forward's buffer; the reverse
    loop is then one multiply, one matmul and one multiply-add per step, and each weight gradient (bias
    included, through the ones columns) one matmul over all steps."""

    @staticmethod
    def forward(ctx, layer_input, initial, weight_ih, weight_hh, bias_ih, bias_hh):
        buffer, states, flat_input = run_layer(layer_input, initial, weight_ih, weight_hh, bias_ih, bias_hh)
        ctx.save_for_backward(flat_input, weight_ih, weight_hh, states, buffer)
        return states[1:, :, :-1]

    @staticmethod
    def backward(ctx, grad_hidden):
        # The buffer is overwritten: a second backward through the same graph fails PyTorch's saved-tensor
        # version check instead of computing from overwritten values.
        flat_input, weight_ih, weight_hh, states, buffer = ctx.saved_tensors
        steps, batch, _ = buffer.shape
        H = weight_hh.shape[1]
        n, free, hn, r, z = buffer.split(H, dim=-1)
        # With a = h_{t-1} W_hh^T + b_hh and dh = dL/dh_t (coefficients per unit of dh):
        #   dL/dz_pre = (h_{t-1} - n) z (1 - z) = (h_t - n)(1 - z)      [h_t - n = z (h_{t-1} - n)]
        #   dL/dn_pre = (1 - z)(1 - n^2),  dL/da_n = r dL/dn_pre,  dL/dr_pre = hn r (1 - r) dL/dn_pre.
        torch.sub(states[1:, :, :-1], n, out=free).addcmul_(free, z, value=-1.0)
        torch.addcmul(buffer.new_ones(()), n, n, value=-1.0, out=n).addcmul_(n, z, value=-1.0)
        hn.mul_(n).mul_(r).addcmul_(hn, r, value=-1.0)
        r.mul_(n)
        coefficients = buffer[..., : 4 * H].unflatten(-1, (4, H)).unbind(0)  # times dh_t: every block's gradient
        recurrent_gradients = buffer[..., H : 4 * H].unbind(0)
        updates, grad_hidden_steps = z.unbind(0), grad_hidden.unbind(0)
        backward_weight = in_gate_order(weight_hh, BACKWARD_RECURRENT_ORDER, H)
        # dL/dh_t needs only dL/dh_{t+1}: two (B, H) buffers in turn, and their (B, 1, H) views for the broadcast.
        full_grads = [buffer.new_empty(batch, H) for _ in range(2)]
        full_grad_columns = [grad.unsqueeze(1) for grad in full_grads]
        current = grad_hidden_steps[-1]
        coefficients[-1].mul_(current.unsqueeze(1))
        for t in range(steps - 1, 0, -1):
            following = full_grads[t % 2]
            # dh_{t-1} = dL/dh_{t-1} from above + dh_t z_t + dL/da_t W_hh. The term from above first, in an
            # elementwise op: as addmm's input it was copied on its own (a slow strided read, as it comes
            # transposed from the batch-first output).
            torch.addcmul(grad_hidden_steps[t - 1], current, updates[t], out=following)
            following.addmm_(recurrent_gradients[t], backward_weight)
            coefficients[t - 1].mul_(full_grad_columns[t % 2])
            current = following

        flat = buffer.view(steps * batch, 5 * H)
        # [h_{t-1} | 1]^T dL/da over all steps: W_hh's gradient and, in the last row, b_hh's.
        recurrent = torch.mm(states[:-1].reshape(steps * batch, H + 1).t(), flat[:, H : 4 * H])
        recurrent = from_gate_order(recurrent, BACKWARD_RECURRENT_ORDER, H, dim=1)
        # x^T g, transposed afterwards: for a narrow input (D=2) this order measured several times faster.
        inputs = from_gate_order(torch.mm(flat_input.t(), flat[:, : 3 * H]), BACKWARD_INPUT_ORDER, H, dim=1)
        grad_input = None
        if ctx.needs_input_grad[0]:
            input_weight = in_gate_order(weight_ih, BACKWARD_INPUT_ORDER, H)
            grad_input = torch.mm(flat[:, : 3 * H], input_weight).view(steps, batch, -1)
        grad_initial = None
        if ctx.needs_input_grad[1]:
            grad_initial = torch.addmm(current * updates[0], recurrent_gradients[0], backward_weight)
        return (grad_input, grad_initial, inputs[:-1].t().contiguous(), recurrent[:-1].t().contiguous(), inputs[-1],
                recurrent[-1])


class FastGRU(StackedRecurrence, nn.GRU):
    """nn.GRU whose training step runs GatedRecurrence."""

    layer_function = GatedRecurrence


def trace_layer(params: LayerParams, layer_input: Tensor) -> dict[str, Tensor]:
    hidden_size = params["weight_hh"].shape[1]
    initial = layer_input.new_zeros(layer_input.shape[1], hidden_size)
    buffer, states, _ = run_layer(layer_input, initial, params["weight_ih"], params["weight_hh"],
                                  params["bias_ih"], params["bias_hh"])
    return {
        "reset_gate": buffer[..., 3 * hidden_size : 4 * hidden_size],
        "update_gate": buffer[..., 4 * hidden_size :],
        "candidate": buffer[..., :hidden_size],
        "hidden_state": states[1:, :, :-1],
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
