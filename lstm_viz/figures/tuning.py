"""The tuning grid's heatmaps (lstm_viz.practices.tuning): learning rate x hidden size, one facet per batch size,
coloured by the final test metric or by the time to solve. Points not trained yet are blank; points that did not
solve are blank on the time map and say so."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lstm_viz.figures.style import BASE_LAYOUT, GATE_COLORSCALE

QUANTITIES = {
    "metric": "final test {metric}",
    "steps": "steps to solve",
    "seconds": "seconds to solve (steps x measured time per step)",
}


def _value(row, quantity: str, seconds: float | None) -> float:
    if row is None:
        return math.nan
    if quantity == "metric":
        return row.final_metric
    if row.solved_step is None:
        return math.nan
    return float(row.solved_step) if quantity == "steps" else seconds


def _cell_text(row, quantity: str, seconds: float | None) -> str:
    if row is None:
        return "…"
    if quantity == "metric":
        return f"{row.final_metric:.3g}"
    if row.solved_step is None:
        return "not solved"
    return f"{row.solved_step:,}" if quantity == "steps" else f"{seconds:.1f} s"


def tuning_heatmap(points, rows, quantity: str, metric_name: str = "MSE", solve_seconds=None) -> go.Figure:
    """Long because each facet builds its own grid of values and texts over a shared colour axis.

    `points` (TuningPoint) and `rows` (SweepRow or None) in the same order; `solve_seconds(point, row)` gives a
    solved point's seconds. One facet per batch size, learning rate down, hidden size across. The metric is coloured
    on a log scale (its decades matter), times linearly."""
    batches = sorted({point.batch_size for point in points})
    rates = sorted({point.learning_rate for point in points})
    hiddens = sorted({point.hidden_size for point in points})
    label = QUANTITIES[quantity].format(metric=metric_name)
    figure = make_subplots(rows=1, cols=len(batches), subplot_titles=[f"batch size {b}" for b in batches],
                           horizontal_spacing=0.06)
    by_point = dict(zip(points, rows))
    log_scale = quantity == "metric"
    for col, batch in enumerate(batches, start=1):
        values = np.full((len(rates), len(hiddens)), np.nan, dtype=np.float64)
        texts = [["" for _ in hiddens] for _ in rates]
        for point, row in by_point.items():
            if point.batch_size != batch:
                continue
            r, h = rates.index(point.learning_rate), hiddens.index(point.hidden_size)
            seconds = solve_seconds(point, row) if quantity == "seconds" and row is not None else None
            value = _value(row, quantity, seconds)
            values[r, h] = math.log10(value) if log_scale and value > 0 else value
            texts[r][h] = _cell_text(row, quantity, seconds)
        figure.add_trace(go.Heatmap(
            x=[str(h) for h in hiddens], y=[f"{lr:g}" for lr in rates], z=values.astype(np.float32), text=texts,
            texttemplate="%{text}", textfont=dict(size=13), coloraxis="coloraxis", xgap=2, ygap=2,
            hovertemplate=(f"learning rate %{{y}}<br>hidden %{{x}}<br>batch {batch}<br>{label}: %{{text}}"
                           "<extra></extra>"),
        ), row=1, col=col)
        # Every cell of the grid, invisible: a facet whose points are all still to come keeps its axes.
        figure.add_trace(go.Scatter(x=[str(h) for _ in rates for h in hiddens],
                                    y=[f"{lr:g}" for lr in rates for _ in hiddens], mode="markers",
                                    marker=dict(opacity=0), showlegend=False, hoverinfo="skip"), row=1, col=col)
        figure.update_xaxes(title_text="hidden size", type="category", row=1, col=col)
        figure.update_yaxes(type="category", row=1, col=col, title_text="learning rate (Adam)" if col == 1 else None)
    colour_title = {"metric": f"log10 {metric_name}", "steps": "steps", "seconds": "seconds"}[quantity]
    figure.update_layout(**{**BASE_LAYOUT, "margin": dict(l=70, r=20, t=90, b=70)}, height=430,
                         title=dict(text=f"Tuning grid: {label}"),
                         coloraxis=dict(colorscale=GATE_COLORSCALE, reversescale=True,  # low (better) is bright
                                        colorbar=dict(title=dict(text=colour_title, side="right"), thickness=14)))
    return figure
