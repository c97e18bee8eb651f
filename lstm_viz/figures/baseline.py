"""The honest baseline's chart: every method's test MAE on every series, as a multiple of the naive forecast's
(the series have different units), with the seconds each took."""
from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lstm_viz.figures.style import ARCH_COLOURS, BASE_LAYOUT, BASELINE_COLOUR, GRID, OKABE_ITO
from lstm_viz.practices.baseline import BaselineResult

METHOD_COLOURS = {**ARCH_COLOURS, "ets": OKABE_ITO[1], "arima": OKABE_ITO[3], "naive": BASELINE_COLOUR,
                  "seasonal": OKABE_ITO[4]}


def seconds_text(seconds: float) -> str:
    """A wall time as a person reads it: "<1 ms", "35 ms", "1.2 s"."""
    if seconds < 1e-3:
        return "<1 ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2g} s"


def baseline_figure(result: BaselineResult) -> go.Figure:
    """One panel per series: a bar per method, its test MAE over the naive forecast's (1 = no better than
    repeating the last value), its MAE and seconds as text; a failed fit has no bar and says so."""
    count = len(result.series)
    figure = make_subplots(rows=count, cols=1, vertical_spacing=0.24 / count, shared_xaxes=True,
                           subplot_titles=[f"{s.label} (MAE in {s.unit})" for s in result.series])
    for row, series in enumerate(result.series, start=1):
        naive = next(m for m in series.methods if m.method == "naive").mae or 1.0
        winner = series.winner()
        methods = list(reversed(series.methods))
        ratios = [m.mae / naive if m.mae is not None else 0.0 for m in methods]
        texts = [(f"{m.mae:.3g} · {seconds_text(m.seconds)}" + (" ★" if m is winner else "")) if m.mae is not None
                 else "fit failed" for m in methods]
        figure.add_trace(go.Bar(
            x=ratios, y=[m.label for m in methods], orientation="h", text=texts, textposition="outside",
            textfont=dict(size=12), cliponaxis=False,
            marker=dict(color=[METHOD_COLOURS.get(m.method, "#000000") for m in methods]), showlegend=False,
            customdata=[[m.mae if m.mae is not None else float("nan"), m.seconds] for m in methods],
            hovertemplate=(f"%{{y}}<br>test MAE %{{customdata[0]:.4g}} {series.unit}<br>%{{x:.3f}} × the naive "
                           "forecast's<br>%{customdata[1]:.3g} s<extra></extra>")), row=row, col=1)
        figure.add_vline(x=1.0, line=dict(color=BASELINE_COLOUR, dash="dot"), row=row, col=1)
    figure.update_layout(**{**BASE_LAYOUT, "margin": dict(l=70, r=20, t=90, b=60)}, height=150 + 230 * count,
                         bargap=0.25, title=dict(
        text="Test MAE ÷ the naive forecast's MAE (lower is better; ★ the winner; text: MAE in the series' units · time)"))
    top = max([1.0] + [m.mae / (next(n for n in s.methods if n.method == "naive").mae or 1.0)
                       for s in result.series for m in s.methods if m.mae is not None])
    figure.update_xaxes(range=[0, top * 1.3], **GRID)  # room for the text beside the longest bar
    figure.update_xaxes(title_text="test MAE ÷ the naive forecast's test MAE", row=count, col=1)
    figure.update_yaxes(automargin=True, **GRID)
    return figure
