"""The Transformer's section of the "Gates and memory" page: its attention maps (layer, head), the input on both
axes. A Transformer has no gates or cell state; what the page's other sections show for it is each block's output
(the residual stream), which this section says. The figure is lstm_viz.figures.attention.attention_map."""
from __future__ import annotations

import numpy as np
import streamlit as st

from lstm_viz.figures import attention as attention_figures
from lstm_viz.figures.input_rows import event_steps
from lstm_viz.ui import charts, page_url
from lstm_viz.ui.gates_memory import traces as memory_traces
from lstm_viz.ui.gates_memory.traces import MemoryView


def is_transformer(view: MemoryView) -> bool:
    return not view.run.model.architecture.recurrent


def recurrence_note(view: MemoryView) -> None:
    """Under the heatmaps of a Transformer: what its one traced array is, and what it does not have."""
    st.caption(f"The {view.run.label} has no gates and no cell state: hₜ above is each block's output at position t "
               "(the residual stream the next block reads). Its memory is attention, drawn below: every position "
               "looks back at all earlier ones at once.")


def attention_maps(view: MemoryView) -> None:
    """Pick a head (the layer is the page's layer box), then its T x T attention on the view's example."""
    if not is_transformer(view):
        return
    ss, config = st.session_state, view.trainer.config
    st.subheader("Attention maps")
    weights = memory_traces.example_attention(view.explored, view.arch, view.checkpoint, view.example)[view.layer]
    heads = list(range(weights.shape[0]))
    page_url.fit("gm_head", heads, 0)
    # The head box above the map, not beside it: the map gets the page's width, and its title fits in presenter mode.
    left, _ = st.columns([1, 3])
    right = st.container()
    left.selectbox("Attention head", heads, key="gm_head", format_func=lambda h: f"head {h + 1} of {len(heads)}",
                   disabled=len(heads) == 1,
                   help="Each head has its own queries and keys, so it can look for something else. The Layer box "
                        "at the top picks the block.")
    head = ss["gm_head"]
    labels = view.example.tokens
    marked = event_steps(view.channels)
    title = (f"{view.run.label} attention, layer {view.layer + 1} of {config.num_layers}, head {head + 1}, "
             f"at step {view.checkpoint.step}")
    with right:
        charts.show(attention_figures.attention_map(weights[head], title=title, labels=labels, marked=marked),
                    "gm_attention", name=f"{view.arch}_attention_layer{view.layer + 1}_head{head + 1}_step"
                                         f"{view.checkpoint.step}", in_zip=False)
    right.caption(f"Row t: how position t shares its attention over positions 0 … t (each row sums to 1; the blank "
                  f"upper triangle is the causal mask). {last_position_sentence(weights[head, -1])}"
                  + (" Orange dotted lines: the marked inputs." if len(marked) else ""))


def last_position_sentence(last: np.ndarray, most: int = 3, floor: float = 0.01) -> str:
    """Where the last position's attention goes, in words: its `most` strongest keys, leaving out any below `floor`
    (a head that puts all its weight on one position is not said to look at two others with 0.000)."""
    order = [int(s) for s in np.argsort(last, kind="stable")[::-1][:most] if last[s] >= floor]
    if not order:
        return f"The last position spreads its attention thinly: no position gets {floor:g} or more."
    if len(order) == 1:
        return f"The last position puts {last[order[0]]:.1%} of its attention on position {order[0]}."
    shares = ", ".join(f"{s} ({last[s]:.3f})" for s in order)
    return f"The last position looks most at positions {shares}: together {last[order].sum():.1%} of its attention."
