"""One position of one Transformer block taken apart, number by number: the attention analogue of the LSTM's six
equations (lstm_viz.analysis.cell_step).

For query position t of block `layer`, in float64 NumPy from the block's weights (not from the module's forward):

    n_s   = LayerNorm(x_s)                       every position s <= t (pre-LN: the block normalises its input)
    q_t   = W_q n_t + b_q,  k_s = W_k n_s + b_k,  v_s = W_v n_s + b_v     (each head's slice of d = H / heads rows)
    z_t,s = q_t . k_s / sqrt(d)                  the scores, s = 0..t (the causal mask removes s > t)
    a_t,s = exp(z_t,s) / sum_r exp(z_t,r)        the softmax
    o_t   = sum_s a_t,s v_s                      the weighted sum, per head
    y_t   = x_t + W_o [o_t^1; ...; o_t^heads] + b_o     the output projection and the residual
    h_t   = y_t + W_2 relu(W_1 LayerNorm(y_t) + b_1) + b_2   the feed-forward block: the block's output

Only positions 0..t enter (the mask), so the step is computed on that prefix alone. tests/test_engine_attention_step.py
checks every part against lstm_viz.core.architectures.transformer.attention_parts and the model's trace.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from lstm_viz.analysis.cell_step import fmt
from lstm_viz.core.model import SequenceModel
from lstm_viz.rules.errors import ConfigError

SHOWN_TERMS = 3  # the largest weights written out in the sums; the rest are summed as "…"


@dataclass(frozen=True)
class AttentionStep:
    """Every number of query position `t` in block `layer`, head `head` (float64). Vectors over s have t + 1 rows."""
    t: int
    layer: int
    head: int
    heads: int
    block_input: np.ndarray  # (t+1, H) x_s, the residual stream entering the block
    normed: np.ndarray  # (t+1, H) n_s = LayerNorm(x_s)
    query: np.ndarray  # (d,) q_t of the head
    keys: np.ndarray  # (t+1, d) k_s of the head
    values: np.ndarray  # (t+1, d) v_s of the head
    scores: np.ndarray  # (t+1,) q_t . k_s / sqrt(d)
    weights: np.ndarray  # (t+1,) softmax of the scores
    attended: np.ndarray  # (d,) o_t of the head
    merged: np.ndarray  # (H,) every head's o_t side by side, what W_o reads
    attention_output: np.ndarray  # (H,) W_o merged + b_o
    residual: np.ndarray  # (H,) x_t + attention_output
    block_output: np.ndarray  # (H,) h_t, after the feed-forward block
    out_bias: np.ndarray  # (H,) b_o

    @property
    def head_width(self) -> int:
        return len(self.query)

    def top_positions(self, count: int = SHOWN_TERMS) -> np.ndarray:
        """The key positions with the largest weights, largest first."""
        return np.argsort(self.weights)[::-1][:count]

    def equations(self, unit: int, digits: int = 4) -> list[tuple[str, str]]:
        """(label, LaTeX) of each equation with this step's numbers; component `unit` of the H-wide vectors and
        component unit mod d of the head's vectors."""
        t, d, i = self.t, self.head_width, unit % self.head_width
        top = self.top_positions()
        rest = len(self.weights) - len(top)
        newline = r" \\ "
        listed = newline + r"&\dots" if rest else ""
        scores = newline.join(rf"z_{{{t},{s}}} &= {fmt(self.scores[s], digits)}" for s in top)
        maximum = self.scores.max()
        denominator = float(np.exp(self.scores - maximum).sum())
        weights = newline.join(rf"a_{{{t},{s}}} &= {fmt(self.weights[s], digits)}" for s in top)
        terms = [rf"{fmt(self.weights[s], digits)} \cdot ({fmt(self.values[s, i], digits)})" for s in top]
        weighted = newline.join(("&= " if k == 0 else r"&\quad + ") + term for k, term in enumerate(terms))
        return [
            (f"Query of position t (head {self.head + 1}, d = {d})",
             rf"q_{{{t}}}[{i}] = (W_q n_{{{t}}} + b_q)[{i}] = {fmt(self.query[i], digits)}"),
            (f"Scores against the {t + 1} positions s ≤ t (largest weights first)",
             aligned(rf"z_{{{t},s}} &= \frac{{q_{{{t}}} \cdot k_s}}{{\sqrt{{{d}}}}}" + newline + scores + listed)),
            ("Softmax over s (m, the largest score, is subtracted for the rounding only)",
             aligned(rf"a_{{{t},s}} &= \frac{{\exp(z_{{{t},s}} - m)}}{{\sum_r \exp(z_{{{t},r}} - m)}}" + newline
                     + rf"&\quad m = {fmt(maximum, digits)},\ \textstyle\sum_r = {fmt(denominator, digits)}"
                     + newline + weights + listed)),
            (f"Weighted sum of the values (component {i})",
             aligned(rf"o_{{{t}}}[{i}] &= \textstyle\sum_s a_{{{t},s}}\, v_s[{i}]" + newline + weighted
                     + (r" + \dots" if rest else "") + newline + rf"&= {fmt(self.attended[i], digits)}")),
            (f"Output projection (unit {unit}, all {self.heads} heads)",
             aligned(rf"(W_o o_{{{t}}} + b_o)[{unit}] &= "
                     rf"{signed_sum([self.attention_output[unit] - self.out_bias[unit], self.out_bias[unit]], digits)}"
                     + newline + rf"&= {fmt(self.attention_output[unit], digits)}")),
            ("Residual: the block's input plus what attention adds",
             aligned(rf"y_{{{t}}}[{unit}] &= x_{{{t}}}[{unit}] + (W_o o_{{{t}}} + b_o)[{unit}]" + newline
                     + rf"&= {signed_sum([self.block_input[t, unit], self.attention_output[unit]], digits)} = "
                     rf"{fmt(self.residual[unit], digits)}")),
            ("Feed-forward block, the block's output",
             aligned(rf"h_{{{t}}}[{unit}] &= y_{{{t}}}[{unit}] + \mathrm{{FFN}}(\mathrm{{LN}}(y_{{{t}}}))[{unit}]" + newline
                     + rf"&= {signed_sum([self.residual[unit], self.block_output[unit] - self.residual[unit]], digits)}"
                     rf" = {fmt(self.block_output[unit], digits)}")),
        ]


def aligned(body: str) -> str:
    """LaTeX lines aligned at their '&', so a long equation wraps into the page's column instead of running off."""
    return r"\begin{aligned}" + body + r"\end{aligned}"


def signed_sum(values, digits: int) -> str:
    """'0.1234 - 0.5678 + 1.0000': each number with its sign folded into the operator before it."""
    text = fmt(values[0], digits)
    for value in values[1:]:
        text += f" - {fmt(-value, digits)}" if value < 0 else f" + {fmt(value, digits)}"
    return text


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().to(torch.float64).numpy().copy()


def layer_norm(values: np.ndarray, norm: nn.LayerNorm) -> np.ndarray:
    """(N, H) rows normalised as nn.LayerNorm does: biased variance, its eps, its gain and shift."""
    mean = values.mean(axis=-1, keepdims=True)
    variance = values.var(axis=-1, keepdims=True)
    return (values - mean) / np.sqrt(variance + norm.eps) * _numpy(norm.weight) + _numpy(norm.bias)


def _activation(block: nn.TransformerEncoderLayer, values: np.ndarray) -> np.ndarray:
    activation = block.activation
    if activation is nn.functional.relu or isinstance(activation, nn.ReLU):
        return np.maximum(values, 0.0)
    return _numpy(activation(torch.as_tensor(values)))  # another activation: PyTorch's own, in float64


def block_inputs(model: SequenceModel, inputs: np.ndarray, layer: int) -> np.ndarray:
    """(T, H) float64: what block `layer` reads for one example (T, D): the embedded inputs plus positions, through
    the blocks below it, in eval mode (no dropout)."""
    double = copy.deepcopy(model).double().eval()
    transformer = double.transformer
    values = torch.as_tensor(np.asarray(inputs))[None]
    with torch.no_grad():
        embedded = double.embed(values.double() if values.is_floating_point() else values)
        hidden = transformer.embed_positions(embedded)
        mask = torch.triu(torch.full((hidden.shape[1],) * 2, float("-inf"), dtype=torch.float64), diagonal=1)
        for block in transformer.layers[:layer]:
            hidden = block(hidden, src_mask=mask, is_causal=True)
    return hidden[0].numpy()


def check_fits_positions(model: SequenceModel, steps: int, what: str = "the input") -> None:
    """A ConfigError saying so when a Transformer with learned positions is given more steps than its position table
    has rows (4x its training length); any other model takes any length."""
    if model.architecture.recurrent or model.config.positions != "learned":
        return
    limit = model.config.max_positions
    if steps > limit:
        raise ConfigError(f"this Transformer's learned positions cover {limit} steps and {what} has {steps}: "
                          "shorten it (sinusoidal positions take any length)")


def attention_step(model: SequenceModel, inputs: np.ndarray, layer: int, head: int, t: int) -> AttentionStep:
    """Query position `t` of block `layer`, head `head`, for one example `inputs` (T, D) of a Transformer `model`."""
    if model.architecture.recurrent:
        raise ConfigError(f"an attention step needs a Transformer (got the {model.architecture.label})")
    blocks, steps = model.transformer.layers, len(inputs)
    heads = model.config.heads
    if not 0 <= layer < len(blocks) or not 0 <= head < heads or not 0 <= t < steps:
        raise ConfigError(f"layer 1 to {len(blocks)}, head 1 to {heads} and position 0 to {steps - 1} "
                          f"(got layer {layer + 1}, head {head + 1}, position {t})")
    block = blocks[layer]
    x = block_inputs(model, inputs[: t + 1], layer)  # the mask: nothing after t enters
    width = x.shape[1]
    d = width // heads
    normed = layer_norm(x, block.norm1)
    projected = normed @ _numpy(block.self_attn.in_proj_weight).T + _numpy(block.self_attn.in_proj_bias)
    query_all, key_all, value_all = projected[:, :width], projected[:, width:2 * width], projected[:, 2 * width:]
    merged = np.zeros(width)
    parts = {}
    for h in range(heads):
        columns = slice(h * d, (h + 1) * d)
        scores = key_all[:, columns] @ query_all[t, columns] / math.sqrt(d)
        exponentials = np.exp(scores - scores.max())
        weights = exponentials / exponentials.sum()
        merged[columns] = weights @ value_all[:, columns]
        if h == head:
            parts = dict(query=query_all[t, columns], keys=key_all[:, columns], values=value_all[:, columns],
                         scores=scores, weights=weights, attended=merged[columns].copy())
    out_bias = _numpy(block.self_attn.out_proj.bias)
    attention_output = _numpy(block.self_attn.out_proj.weight) @ merged + out_bias
    residual = x[t] + attention_output
    hidden = _activation(block, layer_norm(residual[None], block.norm2)[0] @ _numpy(block.linear1.weight).T
                         + _numpy(block.linear1.bias))
    block_output = residual + hidden @ _numpy(block.linear2.weight).T + _numpy(block.linear2.bias)
    return AttentionStep(t=t, layer=layer, head=head, heads=heads, block_input=x, normed=normed, merged=merged,
                         attention_output=attention_output, residual=residual, block_output=block_output,
                         out_bias=out_bias, **parts)
