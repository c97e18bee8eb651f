"""The figures' shared style: one colour per architecture and per meaning, the labels of the traced arrays, the
layout every chart starts from, and the caps and ranges every heatmap and curve is drawn with.

Colours are colour-blind safe and fixed per meaning: Okabe-Ito with one colour per architecture on every chart,
Viridis on [0, 1] for gates, RdBu centred on 0 for signed values (candidate, cell state). Arrays go out as float32
(float64 only where values span below 1e-38, the gradient norms), and heatmaps are capped in size, because each
figure is resent to the browser on every refresh.
"""
from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
import plotly.graph_objects as go

# Okabe & Ito (2008). An architecture keeps its colour on every chart so the eye can follow it.
ARCH_COLOURS = {"rnn": "#D55E00", "gru": "#009E73", "lstm": "#0072B2", "transformer": "#CC79A7"}
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
FALLBACK_COLOUR = "#000000"
INPUT_COLOUR = "#555555"
MARKER_COLOUR = "#E69F00"  # orange is not used by any architecture, so marked inputs never look like a model
BASELINE_COLOUR = "#777777"
SOLVED_COLOUR = "#009E73"
UNKNOWN_TOKEN_COLOUR = "#D55E00"  # a typed token the task does not know

GATE_COLORSCALE = "Viridis"
SIGNED_COLORSCALE = "RdBu"

# Payload caps: a 48-unit x 400-step float32 heatmap is 77 KB; 512 x 1000 would be 2 MB per gate per refresh.
MAX_HEATMAP_UNITS = 48
MAX_HEATMAP_STEPS = 400
MAX_CURVE_POINTS = 600

TRACE_LABELS = {
    "input_gate": "input gate iₜ",
    "forget_gate": "forget gate fₜ",
    "candidate": "candidate gₜ",
    "output_gate": "output gate oₜ",
    "cell_state": "cell state cₜ",
    "hidden_state": "hidden state hₜ",
    "reset_gate": "reset gate rₜ",
    "update_gate": "update gate zₜ",
    "preactivation": "pre-activation",
}


def html_label(name: str) -> str:
    """TRACE_LABELS[name] for a chart text, the time index as an HTML subscript: a unicode "ₜ" in a subplot title
    was drawn cut off by the panel under it."""
    return TRACE_LABELS.get(name, name).replace("ₜ", "<sub>t</sub>")


# Arrays whose values lie in [0, 1]; everything else is signed.
UNIT_INTERVAL_TRACES = {"input_gate", "forget_gate", "output_gate", "reset_gate", "update_gate"}
# Bounded by tanh, so a fixed [-1, 1] colour range keeps colours comparable between checkpoints.
TANH_TRACES = {"candidate", "hidden_state"}

# A small explicit template: Plotly's default one adds ~7 KB of JSON to every figure.
BASE_LAYOUT = dict(
    # Titles start below the strip where Plotly's toolbar (modebar) appears on hover, so it never covers them.
    template=go.layout.Template(layout=dict(
        font=dict(size=13), hovermode="closest",
        title=dict(x=0, xref="paper", xanchor="left", y=1, yref="container", yanchor="top", pad=dict(t=30),
                   automargin=True),
    )),
    paper_bgcolor="rgba(0,0,0,0)",
    plot_bgcolor="white",
    margin=dict(l=70, r=20, t=50, b=100),
    # Below the plot: above it, a two-line legend collides with the title.
    legend=dict(orientation="h", yanchor="top", y=-0.26, xanchor="left", x=0, bgcolor="rgba(255,255,255,0.6)"),
)
GRID = dict(showgrid=True, gridcolor="#E5E5E5", zeroline=False, linecolor="#999999", showline=True, mirror=False)


def arch_colour(arch: str) -> str:
    return ARCH_COLOURS.get(arch, FALLBACK_COLOUR)


def rgba(hex_colour: str, alpha: float) -> str:
    """A "#RRGGBB" colour as Plotly's "rgba(r,g,b,alpha)": the same hue, translucent."""
    red, green, blue = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def downsample(steps: np.ndarray, values: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean over equal bins of consecutive steps: smooths noisy train loss and bounds the payload."""
    if len(values) <= max_points:
        return steps, values
    # The bins of np.array_split (the first len % max_points bins one longer), as two rectangular blocks: one
    # vectorised mean per block instead of a Python loop over 600 bins (this runs on every refresh of a live run).
    size, longer = divmod(len(values), max_points)
    split = longer * (size + 1)
    values = np.asarray(values, dtype=np.float64)
    values = np.where(np.isfinite(values), values, np.nan)
    blocks = [values[:split].reshape(longer, size + 1), values[split:].reshape(max_points - longer, size)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN bin (a diverged stretch) is NaN, as it should be
        means = np.concatenate([np.nanmean(block, axis=1) for block in blocks if block.size])
    last = np.concatenate([np.arange(size, split, size + 1), np.arange(split + size - 1, len(values), size)])
    return np.asarray(steps)[last], means


def finite_or_nan(values: Sequence[float]) -> np.ndarray:
    """float64 values for a log axis: anything not finite or not positive becomes NaN, a gap in the line."""
    array = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(array) & (array > 0), array, np.nan)  # log axis: nothing <= 0 or infinite


def select_units(arrays: Sequence[np.ndarray], limit: int) -> np.ndarray:
    """Indices of the `limit` units that vary most over time (summed over arrays), in unit order."""
    hidden = arrays[0].shape[1]
    if hidden <= limit:
        return np.arange(hidden)
    activity = sum(np.asarray(a, dtype=np.float64).std(axis=0) for a in arrays)
    return np.sort(np.argsort(activity)[::-1][:limit])


def time_stride(steps: int) -> int:
    """Every how many steps a heatmap shows a column, so it has at most MAX_HEATMAP_STEPS."""
    return max(1, int(np.ceil(steps / MAX_HEATMAP_STEPS)))


def value_range(name: str, values: np.ndarray) -> tuple[float, float]:
    """The range a traced array `name` is drawn on: gates on [0, 1] and tanh-valued traces on [-1, 1], fixed so
    colours compare between checkpoints and examples; any other (the cell state, a pre-activation) symmetric around
    0 at its own largest |value| in `values`, so 0 is the middle colour and neither sign is clipped."""
    if name in UNIT_INTERVAL_TRACES:
        return 0.0, 1.0
    if name in TANH_TRACES:
        return -1.0, 1.0
    limit = max(float(np.abs(np.asarray(values, dtype=np.float64)).max(initial=0.0)), 1e-6)
    return -limit, limit


def heatmap_colour_range(name: str, values: np.ndarray) -> dict:
    """The colour scale and range of a heatmap of array `name` showing `values` (go.Heatmap keywords): Viridis on
    [0, 1] for gates, RdBu centred on 0 for the rest, on `value_range`."""
    low, high = value_range(name, values)
    if name in UNIT_INTERVAL_TRACES:
        return dict(colorscale=GATE_COLORSCALE, zmin=low, zmax=high)
    return dict(colorscale=SIGNED_COLORSCALE, zmid=0.0, zmin=low, zmax=high)


def panel_colorbar(figure: go.Figure, row: int) -> dict:
    """A heatmap's colour bar beside row `row` (from 1) of a one-column subplot figure, as tall as that panel, so
    each panel of a stack reads against its own scale."""
    domain = figure.layout["yaxis" if row == 1 else f"yaxis{row}"].domain
    return dict(y=(domain[0] + domain[1]) / 2, len=(domain[1] - domain[0]) * 1.05, thickness=12, x=1.0, xpad=6,
                tickfont=dict(size=10))
