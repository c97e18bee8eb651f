"""Figures of the Forecast and anomalies page: plain arrays in, Plotly figures out (colours from lstm_viz.figures.style)."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lstm_viz.analysis.anomaly import AnomalyReport
from lstm_viz.figures.labels import LABEL_CHARACTERS, plotly_text, short_labels
from lstm_viz.figures.style import ARCH_COLOURS, BASE_LAYOUT, BASELINE_COLOUR, GRID, MARKER_COLOUR
from lstm_viz.analysis.forecasting import ForecastEvaluation

SERIES_COLOUR = "#999999"
TRUTH_COLOUR = "#000000"
METHOD_STYLES = {
    "naive": dict(color=BASELINE_COLOUR, dash="dash", width=2),
    "seasonal": dict(color=MARKER_COLOUR, dash="dot", width=2.5),
}
PART_FILL = {"validation": "rgba(86,180,233,0.10)", "test": "rgba(230,159,0,0.10)"}
KIND_SYMBOLS = {"spike": "triangle-up", "level shift": "square", "dropout": "triangle-down"}


def method_line(method: str) -> dict:
    return METHOD_STYLES.get(method, dict(color=ARCH_COLOURS.get(method, "#000000"), width=2.5))


def _time_axis(times: Sequence[str], start: int, end: int, ticks: int = 10) -> dict:
    """Positions on the axis, the series' own time labels as tick text."""
    positions = np.unique(np.linspace(start, end - 1, ticks).round().astype(int))
    return dict(tickmode="array", tickvals=positions.tolist(), ticktext=[times[p] for p in positions],
                range=[start - 0.5, end - 0.5], **GRID)


def _parts(figure: go.Figure, train_end: int, val_end: int, end: int, row: int | None = None) -> None:
    for name, x0, x1 in (("validation", train_end, val_end), ("test", val_end, end)):
        kwargs = dict(row=row, col=1) if row else {}
        figure.add_vrect(x0=x0 - 0.5, x1=x1 - 0.5, fillcolor=PART_FILL[name], line_width=0, layer="below",
                         annotation_text=name, annotation_position="top left", annotation_font_size=11, **kwargs)


def forecast_figure(evaluation: ForecastEvaluation, *, context: int | None = None) -> go.Figure:
    """The series, the validation and test parts shaded, and each method's multi-step forecasts from origins that
    tile the test part, against the truth."""
    values, times = evaluation.values, evaluation.times
    end = len(values)
    start = max(0, evaluation.train_end - (context if context is not None else 3 * evaluation.horizon))
    positions = np.arange(start, end)
    figure = go.Figure()
    figure.add_trace(go.Scatter(
        x=positions, y=values[start:].astype(np.float32), mode="lines", name="the series",
        line=dict(color=SERIES_COLOUR, width=1.5), customdata=[times[p] for p in positions],
        hovertemplate=f"%{{customdata}}<br>%{{y:.4g}} {evaluation.unit}<extra>series</extra>",
    ))
    test = np.arange(evaluation.val_end, end)
    figure.add_trace(go.Scatter(
        x=test, y=values[test].astype(np.float32), mode="lines+markers", name="truth (test part)",
        line=dict(color=TRUTH_COLOUR, width=2), marker=dict(size=4), customdata=[times[p] for p in test],
        hovertemplate=f"%{{customdata}}<br>truth %{{y:.4g}} {evaluation.unit}<extra></extra>",
    ))
    for method, label in evaluation.labels.items():
        at, forecast = evaluation.tiled(method)
        # A gap between the tiles: each starts afresh from its own origin.
        breaks = np.flatnonzero(np.isin(at, evaluation.tiled_origins))[1:]
        x = np.insert(at.astype(float), breaks, np.nan)
        y = np.insert(forecast, breaks, np.nan)
        figure.add_trace(go.Scatter(
            x=x, y=y.astype(np.float32), mode="lines", name=label, line=method_line(method),
            customdata=[times[int(p)] if np.isfinite(p) else "" for p in x],
            hovertemplate=f"%{{customdata}}<br>{label}: %{{y:.4g}} {evaluation.unit}<extra></extra>",
        ))
    for origin in evaluation.tiled_origins:
        figure.add_vline(x=origin - 0.5, line=dict(color="#BBBBBB", width=1, dash="dot"))
    _parts(figure, evaluation.train_end, evaluation.val_end, end)
    figure.update_layout(
        **BASE_LAYOUT, height=460,
        title=dict(text=f"{plotly_text(short_labels([evaluation.series_label], 2 * LABEL_CHARACTERS)[0])}: {evaluation.horizon}-step forecasts on the held-out test part "
                        f"(input window {evaluation.length})"),
        xaxis=dict(title=dict(text="time"), **_time_axis(times, start, end)),
        yaxis=dict(title=dict(text=evaluation.unit), **GRID),
    )
    return figure


def anomaly_figure(report: AnomalyReport, times: Sequence[str], unit: str, method: str, train_end: int,
                   val_end: int) -> go.Figure:
    """Top: the series with injected anomalies, what was injected and what `method` flagged. Bottom: its anomaly
    score (one-step forecast error) and the threshold chosen on the validation part."""
    detection = report.detections[method]
    values = report.injected.values
    end = len(values)
    start = int(report.val_positions[0]) if len(report.val_positions) else val_end
    positions = np.arange(start, end)
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.62, 0.38])
    figure.add_trace(go.Scatter(
        x=positions, y=values[start:].astype(np.float32), mode="lines", name="series with injected anomalies",
        line=dict(color=SERIES_COLOUR, width=1.5), customdata=[times[p] for p in positions],
        hovertemplate=f"%{{customdata}}<br>%{{y:.4g}} {unit}<extra></extra>",
    ), row=1, col=1)
    for kind, symbol in KIND_SYMBOLS.items():
        points = [p for item in report.injected.injections if item.kind == kind for p in range(item.start, item.end)]
        if points:
            figure.add_trace(go.Scatter(
                x=points, y=values[points].astype(np.float32), mode="markers", name=f"injected {kind}",
                marker=dict(symbol=symbol, size=11, color=MARKER_COLOUR, line=dict(color="#000000", width=1)),
                customdata=[times[p] for p in points],
                hovertemplate=f"%{{customdata}}<br>injected {kind}: %{{y:.4g}} {unit}<extra></extra>",
            ), row=1, col=1)
    flagged = report.test_positions[detection.flags]
    colour = method_line(method)["color"]
    figure.add_trace(go.Scatter(
        x=flagged, y=values[flagged].astype(np.float32), mode="markers", name=f"flagged by {detection.label}",
        marker=dict(symbol="circle-open", size=17, color=colour, line=dict(width=2.5)),
        customdata=[times[p] for p in flagged],
        hovertemplate=f"%{{customdata}}<br>flagged: %{{y:.4g}} {unit}<extra></extra>",
    ), row=1, col=1)
    score_positions = np.concatenate([report.val_positions, report.test_positions])
    scores = np.concatenate([detection.val_scores, detection.test_scores])
    floor = max(float(scores[scores > 0].min()) if (scores > 0).any() else 1e-6, 1e-6)
    figure.add_trace(go.Scatter(
        x=score_positions, y=np.maximum(scores, floor).astype(np.float32), mode="lines+markers", name=f"score: {detection.label} error",
        line=dict(color=colour, width=1.5), marker=dict(size=4), customdata=[times[p] for p in score_positions],
        hovertemplate="%{customdata}<br>score %{y:.3g}<extra></extra>",
    ), row=2, col=1)
    figure.add_trace(go.Scatter(
        x=[start - 0.5, end - 0.5], y=[detection.threshold] * 2, mode="lines",
        name=f"threshold {detection.threshold:.3g} (largest validation score)",
        line=dict(color=TRUTH_COLOUR, width=1.5, dash="dash"),
        hovertemplate=f"threshold {detection.threshold:.4g}<extra></extra>",
    ), row=2, col=1)
    _parts(figure, train_end, val_end, end, row=1)
    _parts(figure, train_end, val_end, end, row=2)
    axis = _time_axis(times, start, end)
    layout = {**BASE_LAYOUT, "legend": {**BASE_LAYOUT["legend"], "y": -0.14}}
    figure.update_layout(
        **layout, height=620,
        title=dict(text=f"Anomalies flagged by the {detection.label} forecaster's one-step error "
                        f"(precision {detection.precision:.2f}, recall {detection.recall:.2f}, F1 {detection.f1:.2f})"),
    )
    figure.update_xaxes(**axis)
    figure.update_xaxes(title=dict(text="time"), row=2, col=1)
    figure.update_yaxes(title=dict(text=unit), row=1, col=1, **GRID)
    figure.update_yaxes(title=dict(text="|error| (std. units, log)"), type="log", row=2, col=1, **GRID)
    return figure
