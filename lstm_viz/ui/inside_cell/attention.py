"""The Transformer on the "Inside the cell" page: one position of one block taken apart with its real numbers (the
attention analogue of the LSTM's six equations), from lstm_viz.analysis.attention_step: the query of position t, the
scores against every position s <= t, their softmax, the weighted sum of the values, the output projection and the
residual. The figure is lstm_viz.figures.attention.attention_step_bars."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from lstm_viz.analysis.attention_step import AttentionStep
from lstm_viz.analysis.memory import trace_example
from lstm_viz.figures import attention as attention_figures
from lstm_viz.ui import charts, page_url
from lstm_viz.ui.inside_cell import settings as cell_view, traces as cell_traces
from lstm_viz.ui.plain import plain

SHOWN_COMPONENTS = 8  # of q_t, shown as numbers; the rest are in the table's hover-free download


def pick_head(heads: int, column) -> int:
    page_url.fit("cell_head", list(range(heads)), 0)
    return column.selectbox("Attention head", list(range(heads)), key="cell_head",
                            format_func=lambda h: f"head {h + 1} of {heads}", disabled=heads == 1,
                            help="Each head has its own queries, keys and values; the output projection mixes them.")


def vector_text(values: np.ndarray) -> str:
    shown = ", ".join(f"{value:.3f}" for value in values[:SHOWN_COMPONENTS])
    return f"({shown}{', …' if len(values) > SHOWN_COMPONENTS else ''})"


def positions_table(step: AttentionStep, inputs: list[str]) -> pd.DataFrame:
    """One row per key position s <= t: its input, score and weight, largest weight first."""
    order = np.argsort(step.weights)[::-1]
    return pd.DataFrame({
        "position s": order,
        "input": [inputs[s] for s in order],
        "score q·k/√d": step.scores[order],
        "weight a": step.weights[order],
        "‖v_s‖": np.linalg.norm(step.values[order], axis=1),
    })


def attention_step_view(view) -> None:
    """The trained Transformer's position view.t: the step in words, its equations and the scores and weights."""
    trainer, t, unit = view.explored.trainer, view.t, view.unit
    head_column, words = st.columns([1, 4])
    head = pick_head(trainer.runs[view.arch].model.config.heads, head_column)
    said, _ = cell_view.input_at(trainer, view.example, t)
    description = trace_example(trainer, view.example).description
    below = f" Block {view.layer + 1} reads the output of block {view.layer} at every position." if view.layer else ""
    words.info(f"**Position t = {t}** of {trainer.trace_inputs.shape[1]}: the input is {said}. {plain(description)} "
               f"Position t sees positions 0 … t only (the causal mask).{below}")
    step = cell_traces.attention_step_of(view.explored, view.arch, view.checkpoint, view.example, view.layer, head, t)
    tokens = trainer.task.input_tokens(trainer.trace_inputs[view.example].numpy())
    left, right = st.columns([5, 6], gap="medium")
    with left:
        st.subheader(f"Transformer block {view.layer + 1}, head {head + 1}, position t = {t}")
        for label, latex in step.equations(unit):
            st.markdown(f"**{label}**")
            st.latex(latex)
        st.caption(f"n = LayerNorm of the block's input (pre-LN); d = {step.head_width} (width {len(step.merged)} / "
                   f"{step.heads} heads). q_t of head {head + 1} = {vector_text(step.query)}. Computed in float64 "
                   f"from the checkpoint's weights; numbers shown to 4 decimals. The sums show the "
                   f"{min(3, t + 1)} largest weights of {t + 1}.")
    with right:
        charts.show(attention_figures.attention_step_bars(
            step.scores, step.weights, labels=tokens[: t + 1] if tokens is not None else None,
            title=f"Position {t} looks back (head {head + 1}, step {view.checkpoint.step})"), "cell_attention_bars",
            name=f"transformer_attention_layer{view.layer + 1}_head{head + 1}_t{t}", in_zip=False)
        inputs = tokens[: t + 1] if tokens is not None else [cell_view.input_at(trainer, view.example, s)[1]
                                                             for s in range(t + 1)]
        st.dataframe(positions_table(step, inputs), hide_index=True, height=min(250, 35 * (t + 2) + 3),
                     column_config={name: st.column_config.NumberColumn(format="%.6f") for name in
                                                ("score q·k/√d", "weight a", "‖v_s‖")})
    st.caption("A recurrence carries one state from step to step; attention keeps every earlier position and "
               "weighs them anew at each step: what an LSTM must squeeze into cₜ, the Transformer reads back.")
