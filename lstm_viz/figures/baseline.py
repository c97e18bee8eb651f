"""The honest baseline's chart: every method's test MAE on every series, as a multiple of the naive forecast's
(the series have different units), with the seconds each took."""
from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lstm_viz.figures.style import ARCH_COLOURS, BASE_LAYOUT, BASELINE_COLOUR, GRID, OKABE_ITO
from lstm_viz.practices.baseline import BaselineResult

METHOD_COLOURS = {**ARCH_COLOURS, "ets": OKABE_ITO[1], "arima": OKABE_ITO[3], "naive": BASELINE_COLOUR,
                  "seasonal": OKABE_ITO[4]}


def baseline_figure(result: BaselineResult) -> go.Figure:
    """One panel per series: a bar per method, its test MAE over the naive forecast's (1 = no better than
    repeating the last value), its MAE and seconds as text; a failed fit has no bar and says so."""
    count = len(result.series)
    figure = make_subplots(rows=1, cols=count, horizontal_spacing=0.12 if count > 1 else 0.0,
                           subplot_titles=[s.label for s in result.series])
    for column, series in enumerate(result.series, start=1):
        naive = next(m for m in series.methods if m.method == "naive").mae or 1.0
        winner = series.winner()
        methods = list(reversed(series.methods))
        ratios = [m.mae / naive if m.mae is not None else 0.0 for m in methods]
        texts = [(f"{m.mae:.3g} · {m.seconds:.2g} s" + (" ★" if m is winner else "")) if m.mae is not None
                 else "fit failed" for m in methods]
        figure.add_trace(go.Bar(
            x=ratios, y=[m.label for m in methods], orientation="h", text=texts, textposition="auto",
            marker=dict(color=[METHOD_COLOURS.get(m.method, "#000000") for m in methods]), showlegend=False,
            customdata=[[m.mae if m.mae is not None else float("nan"), m.seconds] for m in methods],
            hovertemplate=(f"%{{y}}<br>test MAE %{{customdata[0]:.4g}} {series.unit}<br>%{{x:.3f}} × the naive "
                           "forecast's<br>%{customdata[1]:.3g} s<extra></extra>")), row=1, col=column)
        figure.add_vline(x=1.0, line=dict(color=BASELINE_COLOUR, dash="dot"), row=1, col=column)
    figure.update_layout(**{**BASE_LAYOUT, "margin": dict(l=70, r=20, t=80, b=60)}, height=440, title=dict(
        text="Test MAE ÷ the naive forecast's MAE (lower is better; ★ the winner; text: MAE in the series' units · time)"))
    figure.update_xaxes(title_text="MAE ÷ naive MAE", rangemode="tozero", **GRID)
    figure.update_yaxes(automargin=True, **GRID)
    return figure
