"""The overfitting experiment's chart: training and validation loss of every arm over the training steps, each
arm's best checkpoint marked (the one early stopping restores)."""
from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lstm_viz.figures.style import BASE_LAYOUT, GRID, OKABE_ITO
from lstm_viz.practices.overfitting import ARMS, OverfitResult

LOG_TICKS = [base * 10.0 ** power for power in range(-4, 3) for base in (1, 2, 5)]
ARM_COLOURS = dict(zip(ARMS, ("#000000", OKABE_ITO[0], OKABE_ITO[2], OKABE_ITO[5], OKABE_ITO[3])))


def overfitting_figure(result: OverfitResult) -> go.Figure:
    """Left: the plain arm's training and validation loss, diverging. Right: every arm's validation loss, with a
    star on its best checkpoint; an arm with early stopping ends where it stopped.

    Long because each of the five arms has a curve, a best-checkpoint marker and a hover text on two panels."""
    figure = make_subplots(rows=1, cols=2, horizontal_spacing=0.09, subplot_titles=(
        "Without any practice: training and validation loss", "Validation loss of every arm (★ best checkpoint)"))
    plain = result.arms["none"].fit
    figure.add_trace(go.Scatter(x=plain.steps, y=plain.train_loss, mode="lines", name="training loss (none)",
                                line=dict(color=ARM_COLOURS["none"], width=2, dash="dot")), row=1, col=1)
    figure.add_trace(go.Scatter(x=plain.steps, y=plain.val_loss, mode="lines", name="validation loss (none)",
                                line=dict(color=ARM_COLOURS["none"], width=2.5)), row=1, col=1)
    figure.add_trace(go.Scatter(
        x=[plain.best_step], y=[plain.best_val_loss], mode="markers", name="best checkpoint", showlegend=False,
        marker=dict(symbol="star", size=15, color=ARM_COLOURS["none"], line=dict(color="white", width=1)),
        hovertemplate="best checkpoint: step %{x}<br>validation loss %{y:.4g}<extra></extra>"), row=1, col=1)
    for name, arm in result.arms.items():
        colour = ARM_COLOURS[name]
        fitted = arm.fit
        figure.add_trace(go.Scatter(
            x=fitted.steps, y=fitted.val_loss, mode="lines", name=arm.label, legendgroup=name,
            line=dict(color=colour, width=2.5 if name != "none" else 2),
            hovertemplate=f"{arm.label}<br>step %{{x}}<br>validation loss %{{y:.4g}}<extra></extra>"), row=1, col=2)
        restored = " (restored)" if fitted.restored else ""
        figure.add_trace(go.Scatter(
            x=[fitted.best_step], y=[fitted.best_val_loss], mode="markers", legendgroup=name, showlegend=False,
            marker=dict(symbol="star", size=14, color=colour, line=dict(color="white", width=1)),
            hovertemplate=(f"{arm.label}: best checkpoint{restored}<br>step %{{x}}<br>validation loss "
                           "%{y:.4g}<extra></extra>")), row=1, col=2)
        if fitted.stopped_early:
            figure.add_trace(go.Scatter(
                x=[fitted.steps[-1]], y=[fitted.val_loss[-1]], mode="markers", legendgroup=name, showlegend=False,
                marker=dict(symbol="x-thin", size=12, color=colour, line=dict(color=colour, width=2)),
                hovertemplate=f"{arm.label}: stopped early at step %{{x}}<extra></extra>"), row=1, col=2)
    figure.update_layout(**{**BASE_LAYOUT, "margin": dict(l=70, r=20, t=95, b=100)}, height=500, title=dict(
        text=f"Overfitting on {result.series_label}: {result.train_windows} training windows, LSTM "
             f"H={result.settings.hidden_size}"))
    figure.update_xaxes(title_text="training step", **GRID)
    figure.update_yaxes(title_text="loss (MSE, standardised; log scale)", type="log", tickmode="array", tickvals=LOG_TICKS,
                     ticktext=[f"{tick:g}" for tick in LOG_TICKS], **GRID)
    return figure
