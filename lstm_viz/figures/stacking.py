"""The stacking figure (lstm_viz.practices.stacking): per number of layers, the final test metric, the steps it
trained (a depth stops when it solves), the measured time per training step and the parameter count, side by side."""
from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lstm_viz.figures.style import BASE_LAYOUT, BASELINE_COLOUR, GRID, arch_colour


def _panel_values(rows, key: str) -> tuple[list[float], list[str]]:
    if key == "final_metric":
        return [row.final_metric for row in rows], [f"{row.final_metric:.3g}" for row in rows]
    if key == "steps":
        return ([row.steps_trained for row in rows],
                [f"solved at {row.solved_step:,}" if row.solved_step is not None else "not solved" for row in rows])
    if key == "ms_per_step":
        return [row.seconds_per_step * 1e3 for row in rows], [f"{row.seconds_per_step * 1e3:.1f} ms" for row in rows]
    return [row.parameters for row in rows], [f"{row.parameters:,}" for row in rows]


def stacking_figure(rows, arch: str, solved_threshold: float | None = None) -> go.Figure:
    """`rows`: StackingRow per depth. Four panels, bars but for the metric: markers on a log axis (its decades matter), with the
    threshold below which a depth counts as solved."""
    metric_name = rows[0].metric_name if rows else "metric"
    panels = (("final_metric", f"final test {metric_name} (log; dots: solved)"), ("steps", "steps trained"),
              ("ms_per_step", "ms per training step (side by side)"), ("parameters", "parameters"))
    figure = make_subplots(rows=1, cols=len(panels), subplot_titles=[title for _, title in panels],
                           horizontal_spacing=0.07)
    layers = [f"{row.layers} layer{'s' if row.layers > 1 else ''}" for row in rows]
    for col, (key, title) in enumerate(panels, start=1):
        values, texts = _panel_values(rows, key)
        common = dict(x=layers, y=values, text=texts, cliponaxis=False, showlegend=False,
                      hovertemplate="%{x}<br>" + title + ": %{text}<extra></extra>")
        if key == "final_metric":  # markers: a bar's height means nothing on a log axis
            figure.add_trace(go.Scatter(**common, mode="markers+text", textposition="top center",
                                        marker=dict(color=arch_colour(arch), size=14)), row=1, col=col)
        else:
            figure.add_trace(go.Bar(**common, textposition="outside", marker_color=arch_colour(arch)), row=1, col=col)
        figure.update_xaxes(title_text="depth", row=1, col=col, **GRID)
        figure.update_yaxes(type="log" if key == "final_metric" else "linear", row=1, col=col, **GRID)
    if solved_threshold is not None:
        # No annotation: on a log axis Plotly places an hline's annotation at the top of the panel, not by the line.
        figure.add_hline(y=solved_threshold, line=dict(color=BASELINE_COLOUR, dash="dot"), row=1, col=1)
    figure.update_layout(**{**BASE_LAYOUT, "margin": dict(l=70, r=20, t=90, b=70)}, height=430,
                         title=dict(text="Stacking: what each extra layer buys and costs"))
    return figure
