"""What a trained length model does on one test example, step by step: the LSTM's gates and cell state recomputed
from its weights (PyTorch's gate order i, f, g, o), or the hidden state of a GRU or tanh RNN, and the readout's
prediction at every step. The packed model is read up to the example's true length (where its state stops); the
unpacked one over every padded step too, which is what the consistent-lengths figure shows."""
from __future__ import annotations

import torch
from torch import nn

TRACE_NAMES = ("input_gate", "forget_gate", "output_gate", "cell_state")


def lstm_steps(lstm: nn.LSTM, inputs: torch.Tensor) -> dict[str, torch.Tensor]:
    """One sequence (T, input) through the first layer of a fused nn.LSTM, one step at a time:
    {gate name: (T, H)} plus the hidden state."""
    hidden_size = lstm.hidden_size
    weight_ih, weight_hh = lstm.weight_ih_l0, lstm.weight_hh_l0
    bias = lstm.bias_ih_l0 + lstm.bias_hh_l0
    h = torch.zeros(hidden_size)
    c = torch.zeros(hidden_size)
    names = ("input_gate", "forget_gate", "output_gate", "cell_state", "hidden_state")
    rows: dict[str, list[torch.Tensor]] = {name: [] for name in names}
    for x in inputs:
        z = weight_ih @ x + weight_hh @ h + bias
        i, f, g, o = z.split(hidden_size)
        i, f, o, g = torch.sigmoid(i), torch.sigmoid(f), torch.sigmoid(o), torch.tanh(g)
        c = f * c + i * g
        h = o * torch.tanh(c)
        for name, value in zip(names, (i, f, o, c, h)):
            rows[name].append(value)
    return {name: torch.stack(values) for name, values in rows.items()}


def _read(model, inputs: torch.Tensor) -> dict[str, list[float]]:
    """Per step, each quantity averaged over the units, and the prediction the readout would give there."""
    with torch.no_grad():
        if isinstance(model.recurrent, nn.LSTM):
            steps = lstm_steps(model.recurrent, inputs)
        else:
            hidden, _ = model.recurrent(inputs.unsqueeze(0))
            steps = {"hidden_state": hidden[0]}
        prediction = model.readout(steps["hidden_state"])[:, 0]
    read = {name: value.mean(dim=1).tolist() for name, value in steps.items()}
    if "cell_state" in steps:
        read["cell_state_abs"] = steps["cell_state"].abs().mean(dim=1).tolist()
    read["prediction"] = prediction.tolist()
    return read


def example_trace(packed_model, padded_model, data) -> dict:
    """One test example with as much padding as any (the first of the shortest): the packed model read to its true
    length, the unpacked one over every padded step; the unpacked LSTM's mean forget gate over the padding, the
    share of its cell state at the true end the padding leaves (the product of the forget gates over the padded
    steps, averaged over units), and how far (mean |change| over units) its cell state moves there."""
    inputs, lengths, targets = data
    index = int(torch.argmin(lengths))
    length = int(lengths[index])
    example = inputs[index]
    packed = _read(packed_model, example[:length])
    padded = _read(padded_model, example)
    trace = {"index": index, "length": length, "max_length": int(example.shape[0]),
             "target": float(targets[index, 0]), "packed": packed, "padded": padded,
             "marked_steps": [int(step) + 1 for step in example[:, 1].nonzero().flatten().tolist()],  # from 1
             "padding_forget": None, "padding_cell_drift": None, "padding_retained": None}
    if "forget_gate" in padded and example.shape[0] > length:
        trace["padding_forget"] = float(sum(padded["forget_gate"][length:]) / (example.shape[0] - length))
        with torch.no_grad():
            steps = lstm_steps(padded_model.recurrent, example)
        trace["padding_cell_drift"] = float((steps["cell_state"][-1] - steps["cell_state"][length - 1]).abs().mean())
        # What is left of the cell state at the true end after the padding: the product of the forget gates.
        trace["padding_retained"] = float(steps["forget_gate"][length:].prod(dim=0).mean())
    return trace
