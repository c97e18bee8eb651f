"""The stacking figure (lstm_viz.practices.stacking): per number of layers, the final test metric, the measured time
per training step and the parameter count, side by side."""
from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lstm_viz.figures.style import BASE_LAYOUT, GRID, arch_colour


def stacking_figure(rows, arch: str) -> go.Figure:
    """`rows`: StackingRow per depth. Three panels of bars; the metric on a log axis (its decades matter)."""
    metric_name = rows[0].metric_name if rows else "metric"
    panels = (("final_metric", f"final test {metric_name} (log scale)", "{:.3g}"),
              ("ms_per_step", "time per training step (ms, measured)", "{:.1f} ms"),
              ("parameters", "parameters", "{:,}"))
    figure = make_subplots(rows=1, cols=3, subplot_titles=[title for _, title, _ in panels], horizontal_spacing=0.09)
    layers = [f"{row.layers} layer{'s' if row.layers > 1 else ''}" for row in rows]
    for col, (key, title, text) in enumerate(panels, start=1):
        values = [row.seconds_per_step * 1e3 if key == "ms_per_step" else getattr(row, key) for row in rows]
        figure.add_trace(go.Bar(x=layers, y=values, text=[text.format(v) for v in values], textposition="outside",
                                marker_color=arch_colour(arch), showlegend=False, cliponaxis=False,
                                hovertemplate="%{x}<br>" + title + ": %{text}<extra></extra>"), row=1, col=col)
        figure.update_xaxes(title_text="depth", row=1, col=col, **GRID)
        figure.update_yaxes(type="log" if key == "final_metric" else "linear", row=1, col=col, **GRID)
    figure.update_layout(**BASE_LAYOUT, height=400, title=dict(text="Stacking: what each extra layer buys and costs"))
    return figure
