"""The normalisation experiment's chart: the test part of the series and the two arms' forecasts, in its units."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from lstm_viz.figures.style import BASE_LAYOUT, BASELINE_COLOUR, GRID, OKABE_ITO
from lstm_viz.practices.normalisation import NormResult

ARM_STYLES = {"raw": dict(color=OKABE_ITO[5], width=2.5, dash="dash"),
              "standardised": dict(color=OKABE_ITO[0], width=2.5)}


def tiling_rows(origins: np.ndarray, horizon: int) -> np.ndarray:
    """Rows of the forecasts whose horizons follow one another without overlap, from the first test origin."""
    rows, next_start = [], None
    for row, origin in enumerate(origins):
        if next_start is None or origin >= next_start:
            rows.append(row)
            next_start = origin + horizon
    return np.array(rows, dtype=np.int64)


def normalisation_figure(result: NormResult) -> go.Figure:
    """The truth on the test part and each arm's forecasts from origins that tile it."""
    horizon = result.horizon
    rows = tiling_rows(result.origins, horizon)
    positions = (result.origins[rows, None] + np.arange(horizon)[None, :]).ravel()
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=positions, y=result.actual[rows].ravel(), mode="lines+markers", name="truth",
                                line=dict(color="#000000", width=2), marker=dict(size=4)))
    for name, arm in result.arms.items():
        figure.add_trace(go.Scatter(
            x=positions, y=arm.forecasts[rows].ravel(), mode="lines", name=f"{arm.label}: MAE {arm.mae:.3g}",
            line=ARM_STYLES[name],
            hovertemplate=f"{arm.label}<br>position %{{x}}<br>%{{y:.4g}} {result.unit}<extra></extra>"))
    figure.add_hline(y=float(result.arms["standardised"].scaler.mean), line=dict(color=BASELINE_COLOUR, dash="dot"),
                     annotation_text="training mean", annotation_position="bottom right")
    figure.update_layout(**BASE_LAYOUT, height=430, title=dict(
        text=f"{result.series_label}: {horizon}-step forecasts on the test part, raw against standardised"))
    axis = dict(title_text="time (test part)")
    if len(result.times) > positions.max():
        ticks = positions[:: max(1, len(positions) // 8)]
        axis.update(tickmode="array", tickvals=ticks.tolist(), ticktext=[result.times[p] for p in ticks])
    figure.update_xaxes(**axis, **GRID)
    figure.update_yaxes(title_text=result.unit, **GRID)
    return figure
