"""Luong dot-product attention (Luong, Pham & Manning 2015, "Effective Approaches to Attention-based Neural Machine
Translation", the global model with the dot score).

Why dot and not Bahdanau's additive score: the score of decoder state h_t against encoder state m_s is h_t . m_s,
with no parameters, so the weights a page shows are exactly softmax(h_t M^T) over the source, which a reader (and a
test) can recompute by hand. And because the decoder's state does not depend on the attention (no input feeding),
teacher-forced training runs the decoder as one fused nn.LSTM call over the whole target, then attends for all
steps in one matrix product, instead of stepping a cell in Python: several times faster on one CPU thread.

    a_t = softmax_s(h_t . m_s)  over the real (unpadded) source positions
    c_t = sum_s a_ts m_s
    h~_t = tanh(W_c [c_t; h_t])   the attentional state the readout sees
"""
from __future__ import annotations

import torch
from torch import Tensor, nn


class LuongDotAttention(nn.Module):
    def __init__(self, hidden_size: int):
        super().__init__()
        self.combine = nn.Linear(2 * hidden_size, hidden_size, bias=False)

    def forward(self, queries: Tensor, memory: Tensor, source_mask: Tensor) -> tuple[Tensor, Tensor]:
        """queries (B, T, H) decoder states, memory (B, S, H) encoder states, source_mask (B, S) True on real tokens
        -> (attentional states (B, T, H), weights (B, T, S) summing to 1 over each row)."""
        scores = queries @ memory.transpose(1, 2)
        scores = scores.masked_fill(~source_mask[:, None, :], float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        context = weights @ memory
        return torch.tanh(self.combine(torch.cat([context, queries], dim=-1))), weights
