"""A small causal (decoder-only) Transformer, for contrast with the recurrent cells.

Built from PyTorch's own `nn.TransformerEncoderLayer` (pre-LayerNorm, `norm_first=True`) under a causal mask, so
position t attends to positions 0..t only and a per-step readout never sees the future. The model width is the
hidden-size knob; the feed-forward block is 4x the width, as in Vaswani et al. (2017). Positions are sinusoidal
(computed for any length) or learned (a table of `max_positions` rows; rows past the trained length are never
updated, which is what the length-generalisation table measures).

Training uses the module's own forward. Everything the pages show comes from `attention_parts`, which recomputes
one layer from its weights: q, k and v of every head, the scores softmax(q k^T / sqrt(d) + mask) and the layer's
output; tests/test_engine_transformer.py checks it against the module and against a hand-written softmax.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from lstm_viz.core.architectures.base import Architecture

POSITION_KINDS = ("sinusoidal", "learned")
FEEDFORWARD_RATIO = 4


def sinusoidal_positions(steps: int, width: int, dtype: torch.dtype = torch.float32) -> Tensor:
    """(steps, width): sin on even columns, cos on odd ones, wavelengths 2 pi ... 10000 * 2 pi."""
    position = torch.arange(steps, dtype=torch.float64)[:, None]
    frequency = torch.exp(torch.arange(0, width, 2, dtype=torch.float64) * (-math.log(10000.0) / width))
    table = torch.zeros(steps, width, dtype=torch.float64)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency[: width // 2])
    return table.to(dtype)


def causal_mask(steps: int, dtype: torch.dtype = torch.float32) -> Tensor:
    """(steps, steps) additive mask: 0 on and below the diagonal, -inf above (no position sees a later one)."""
    return torch.triu(torch.full((steps, steps), float("-inf"), dtype=dtype), diagonal=1)


class CausalTransformer(nn.Module):
    """(B, T, D) inputs -> ((B, T, H) final-normed outputs, None): the same call shape as PyTorch's recurrent
    modules, so SequenceModel's readout code is the same for every architecture."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int, dropout: float, *, heads: int = 2,
                 positions: str = "sinusoidal", max_positions: int = 0):
        super().__init__()
        self.hidden_size = hidden_size
        self.heads = heads
        self.positions = positions
        self.input_projection = nn.Linear(input_size, hidden_size)
        self.position_embedding = nn.Embedding(max_positions, hidden_size) if positions == "learned" else None
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(hidden_size, heads, dim_feedforward=FEEDFORWARD_RATIO * hidden_size,
                                       dropout=dropout, batch_first=True, norm_first=True)
            for _ in range(num_layers)
        )
        self.final_norm = nn.LayerNorm(hidden_size)

    def embed_positions(self, layer_input: Tensor) -> Tensor:
        """What the first block reads: the projected inputs plus each position's vector."""
        steps = layer_input.shape[1]
        projected = self.input_projection(layer_input)
        if self.position_embedding is None:
            return projected + sinusoidal_positions(steps, self.hidden_size, projected.dtype)
        if steps > self.position_embedding.num_embeddings:
            raise ValueError(f"this Transformer's learned positions cover {self.position_embedding.num_embeddings} "
                             f"steps; the input has {steps}")
        return projected + self.position_embedding.weight[:steps]

    def forward(self, layer_input: Tensor, state: None = None) -> tuple[Tensor, None]:
        hidden = self.embed_positions(layer_input)
        mask = causal_mask(hidden.shape[1], hidden.dtype)
        for layer in self.layers:
            hidden = layer(hidden, src_mask=mask, is_causal=True)
        return self.final_norm(hidden), None


def split_heads(projection: Tensor, heads: int) -> Tensor:
    """(B, T, H) -> (B, heads, T, H / heads): PyTorch's MultiheadAttention splits the width in this order."""
    batch, steps, width = projection.shape
    return projection.view(batch, steps, heads, width // heads).transpose(1, 2)


def attention_parts(layer: nn.TransformerEncoderLayer, layer_input: Tensor) -> dict[str, Tensor]:
    """One pre-LN block recomputed from its weights, in eval mode (no dropout), for (B, T, H) `layer_input`:

    normed_input (B,T,H), query / key / value (B,heads,T,d), scores (B,heads,T,T) = q k^T / sqrt(d) + mask,
    attention (B,heads,T,T) = softmax of the scores over the key axis, attended (B,heads,T,d) = attention @ value,
    attention_output (B,T,H) after the output projection, hidden_state (B,T,H) the block's output."""
    attention_module = layer.self_attn
    heads = attention_module.num_heads
    normed = layer.norm1(layer_input)
    query_weight, key_weight, value_weight = attention_module.in_proj_weight.chunk(3)
    query_bias, key_bias, value_bias = attention_module.in_proj_bias.chunk(3)
    query = split_heads(nn.functional.linear(normed, query_weight, query_bias), heads)
    key = split_heads(nn.functional.linear(normed, key_weight, key_bias), heads)
    value = split_heads(nn.functional.linear(normed, value_weight, value_bias), heads)
    steps = layer_input.shape[1]
    scores = query @ key.transpose(-1, -2) / math.sqrt(query.shape[-1]) + causal_mask(steps, query.dtype)
    attention = torch.softmax(scores, dim=-1)
    attended = attention @ value
    merged = attended.transpose(1, 2).reshape(layer_input.shape)
    attention_output = attention_module.out_proj(merged)
    middle = layer_input + attention_output
    feedforward = layer.linear2(layer.activation(layer.linear1(layer.norm2(middle))))
    return {
        "normed_input": normed, "query": query, "key": key, "value": value, "scores": scores,
        "attention": attention, "attended": attended, "attention_output": attention_output,
        "hidden_state": middle + feedforward,
    }


def transformer_multiply_adds(steps: int, layer_input: int, hidden_size: int, layer: int) -> float:
    """Floating-point operations of one block over one sequence (2 per multiply-add, as the recurrences count):
    q, k, v and the output projection (4 H^2 per position), the feed-forward block (2 * 4 H^2), and the scores and
    weighted sum over all T x T pairs (the whole matrix is computed; the mask only zeroes half of it). The first
    block also projects the inputs to the model width."""
    per_position = (4 + 2 * FEEDFORWARD_RATIO) * hidden_size * hidden_size
    pairs = 2 * steps * steps * hidden_size
    projection = steps * layer_input * hidden_size if layer == 0 else 0
    return 2.0 * (steps * per_position + pairs + projection)


TRANSFORMER = Architecture(
    name="transformer",
    label="Transformer",
    description="Causal self-attention: every step looks back at all earlier steps at once, no state carried.",
    trace_names=("hidden_state",),
    gate_names=(),
    recurrent=False,
    builder=CausalTransformer,
    forward_multiply_adds=transformer_multiply_adds,
)
