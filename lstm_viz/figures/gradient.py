"""Figures of the Gradient flow lab: plain arrays in, `go.Figure` out, no Streamlit.

Everything is plotted against the distance from the output, d = T-1-t (how many steps back a gradient has to
travel), on log axes: the values span 1e-60 to 1e+4. Values go out as float64 because they fall below float32's
range. Architectures keep their colours from lstm_viz.figures.style; ordered knobs (forget bias, weight scale) get a
colour-blind-safe sequential scale (Plasma) so that their order reads at a glance.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import plotly.colors
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lstm_viz.figures.style import BASE_LAYOUT, GRID, arch_colour, finite_or_nan, rgba

# The Train page draws time step t with the output (after the last step) at the right; here the distance d runs
# right to left so that both pages put the output at the right and the first step at the left.
DISTANCE_AXIS = "steps back from the last step, d = T−1−t (the output at the right, as on the Train page)"
DISTANCE_AXIS_LAYOUT = dict(title=dict(text=DISTANCE_AXIS), autorange="reversed", **GRID)
LOG_AXIS = dict(type="log", exponentformat="power", **GRID)
HEATMAP_COLORSCALE = "Viridis"


def ordered_colours(count: int) -> list[str]:
    """`count` colours along Plasma (dark blue to orange), perceptually ordered and colour-blind safe; its pale
    yellow end is left out because it vanishes on white."""
    if count == 1:
        return [plotly.colors.sample_colorscale("Plasma", [0.0])[0]]
    return plotly.colors.sample_colorscale("Plasma", list(np.linspace(0.0, 0.8, count)))


@dataclass
class Line:
    name: str
    values: np.ndarray  # by distance d = 0, 1, ...
    colour: str
    dash: str = "solid"
    width: float = 2.5
    group: str | None = None
    hover_name: str | None = None


def distance_lines(lines: Sequence[Line], *, title: str, y_title: str, height: int = 430,
                   reference: float | None = 1.0) -> go.Figure:
    """Lines against the distance d on a log y axis; `reference` draws a dotted line (1 = no change)."""
    figure = go.Figure()
    for line in lines:
        values = np.asarray(line.values, dtype=np.float64)
        figure.add_trace(go.Scatter(
            x=np.arange(len(values), dtype=np.int32), y=finite_or_nan(values), mode="lines", name=line.name,
            legendgroup=line.group, line=dict(color=line.colour, width=line.width, dash=line.dash),
            hovertemplate=f"{line.hover_name or line.name}<br>d = %{{x}} steps back<br>%{{y:.4g}}<extra></extra>",
        ))
    if reference is not None and lines:
        longest = max(len(line.values) for line in lines)
        figure.add_trace(go.Scatter(
            x=[0, longest - 1], y=[reference, reference], mode="lines", name="no change (1)", showlegend=False,
            line=dict(color="#999999", width=1, dash="dot"), hoverinfo="skip",
        ))
    figure.update_layout(
        **BASE_LAYOUT, height=height, title=dict(text=title),
        xaxis=DISTANCE_AXIS_LAYOUT,
        yaxis=dict(title=dict(text=y_title), **LOG_AXIS),
    )
    return figure


def relative_by_distance(grad_norm_per_step: np.ndarray) -> np.ndarray:
    """(T,) ||dL/dh_t|| by time step -> ||dL/dh_{T-1-d}|| / ||dL/dh_{T-1}|| by distance d."""
    norms = np.asarray(grad_norm_per_step, dtype=np.float64)[::-1]
    return norms / norms[0] if norms.size and norms[0] > 0 else np.full(norms.shape, np.nan)


def absolute_by_distance(grad_norm_per_step: np.ndarray) -> np.ndarray:
    return np.asarray(grad_norm_per_step, dtype=np.float64)[::-1].copy()


def gradient_y_title(relative: bool) -> str:
    if relative:
        return "‖∂L/∂h<sub>T−1−d</sub>‖ / ‖∂L/∂h<sub>T−1</sub>‖ (ratio, log scale)"
    return "‖∂L/∂h<sub>t</sub>‖, mean over probe sequences (loss units per unit of h, log scale)"


# ----------------------------------------------------------------------------------------------------
# over training
@dataclass
class FlowCurve:
    arch: str
    label: str
    grad_norm_per_step: np.ndarray  # (T,) at the probe shown, by time step
    step: int
    initial_grad_norm_per_step: np.ndarray | None = None  # (T,) at initialisation


def gradient_vs_distance(curves: Sequence[FlowCurve], *, relative: bool = True, title: str | None = None) -> go.Figure:
    """Arjovsky et al. (2016), figure 1, live: one solid line per architecture at the probe, dashed at init."""
    transform = relative_by_distance if relative else absolute_by_distance
    lines = []
    for curve in curves:
        colour = arch_colour(curve.arch)
        if curve.initial_grad_norm_per_step is not None:
            lines.append(Line(f"{curve.label} at initialisation", transform(curve.initial_grad_norm_per_step),
                              rgba(colour, 0.6), dash="dash", width=1.8, group=curve.arch))
        lines.append(Line(f"{curve.label} at step {curve.step}", transform(curve.grad_norm_per_step), colour,
                          group=curve.arch))
    return distance_lines(lines, title=title or "Gradient reaching each step back from the output",
                          y_title=gradient_y_title(relative), height=460, reference=1.0 if relative else None)


def gradient_heatmaps(series: Mapping[str, tuple[str, Sequence[int], np.ndarray]], *, marked_step: int | None = None,
                      title: str = "Gradient over training: training step × steps back (log₁₀ of the ratio)") -> go.Figure:
    """One heatmap per architecture: rows = probes (training step), columns = distance d, colour = log10 of
    ||dL/dh_(T-1-d)|| / ||dL/dh_(T-1)||, on one shared colour range; hover gives the exact ratio.

    `series`: arch -> (label, probe steps (K,), grad norms (K, T) by time step)."""
    arches = list(series)
    figure = make_subplots(rows=len(arches), cols=1, shared_xaxes=True, vertical_spacing=0.07,
                           subplot_titles=[series[arch][0] for arch in arches])
    ratios = {arch: np.stack([relative_by_distance(row) for row in series[arch][2]]) for arch in arches}
    finite = np.concatenate([np.log10(r[np.isfinite(r) & (r > 0)]) for r in ratios.values()] or [np.zeros(1)])
    zmin = float(max(np.floor(finite.min()), -80.0)) if finite.size else -20.0
    zmax = float(max(np.ceil(finite.max()), 0.0)) if finite.size else 0.0
    for row, arch in enumerate(arches, start=1):
        label, steps, _ = series[arch]
        ratio = ratios[arch]
        with np.errstate(divide="ignore", invalid="ignore"):
            log_ratio = np.where(ratio > 0, np.log10(ratio), np.nan)
        figure.add_trace(go.Heatmap(
            z=log_ratio, x=np.arange(ratio.shape[1], dtype=np.int32), y=np.asarray(steps, dtype=np.int32),
            customdata=ratio, zmin=zmin, zmax=zmax, colorscale=HEATMAP_COLORSCALE, showscale=row == 1,
            colorbar=dict(title=dict(text="log₁₀ ratio", side="right"), len=0.9, y=0.5, yanchor="middle"),
            name=label,
            hovertemplate=f"{label}<br>training step %{{y}}<br>d = %{{x}} steps back<br>ratio %{{customdata:.3g}}<extra></extra>",
        ), row=row, col=1)
        figure.update_yaxes(title=dict(text="training step"), row=row, col=1, **GRID)
        if marked_step is not None:
            figure.add_hline(y=marked_step, line=dict(color="white", width=1.5, dash="dash"), row=row, col=1)
    figure.update_xaxes(autorange="reversed")
    figure.update_xaxes(title=dict(text=DISTANCE_AXIS), row=len(arches), col=1)
    layout = {**BASE_LAYOUT, "margin": dict(l=70, r=20, t=70, b=60)}
    figure.update_layout(**layout, height=max(300, 190 * len(arches) + 110), title=dict(text=title))
    return figure


# ----------------------------------------------------------------------------------------------------
# why: the numbers behind the curves
def rnn_jacobian_figure(step_norm: np.ndarray, product_norm: np.ndarray, norm_product: np.ndarray, *,
                        measured_ratio: np.ndarray | None = None, spectral_radius: float | None = None,
                        title: str) -> go.Figure:
    """RNN: ||J_(T-d)|| per step, the norm of the actual product J_(T-1)...J_(T-d), and the product of the norms."""
    colour = arch_colour("rnn")
    lines = [
        Line("‖J‖ of the step d steps back (one step)", np.concatenate([[np.nan], step_norm]), "#777777",
             width=1.5, hover_name="‖diag(1−hₜ²) W_hh‖₂ at that step"),
        Line("product of the step norms (upper bound)", norm_product, colour, dash="dash", width=2,
             hover_name="∏‖Jₖ‖₂ (upper bound)"),
        Line("‖J<sub>T−1</sub> ⋯ J<sub>T−d</sub>‖₂ (actual product)", product_norm, colour, width=3,
             hover_name="‖∂h<sub>T−1</sub>/∂h<sub>T−1−d</sub>‖₂"),
    ]
    if measured_ratio is not None:
        lines.append(Line("measured ‖∂L/∂h‖ ratio, this example", measured_ratio, "#000000", dash="dot", width=2))
    if spectral_radius is not None and len(product_norm) > 1:
        steps = np.arange(len(product_norm), dtype=np.float64)
        with np.errstate(over="ignore"):
            lines.append(Line(f"ρ(W_hh)^d, spectral radius {spectral_radius:.3g}", np.power(spectral_radius, steps),
                              "#CC79A7", dash="dashdot", width=1.5))
    figure = distance_lines(lines, title=title, y_title="spectral norm (dimensionless, log scale)", height=480)
    # The axis fits the measured lines; ρ^d of a trained RNN (ρ >> 1) may leave the chart rather than squash them.
    measured = np.concatenate([step_norm, product_norm, norm_product] + ([measured_ratio] if measured_ratio is not None else []))
    measured = measured[np.isfinite(measured) & (measured > 0)]
    if measured.size:
        low, high = np.log10(measured.min()), np.log10(measured.max())
        pad = max(1.0, 0.05 * (high - low))
        figure.update_yaxes(range=[low - pad, max(high, 0.0) + pad])
    return figure


def forget_path_figure(product_per_unit: np.ndarray, *, initial_mean: np.ndarray | None = None,
                       step: int | None = None, title: str) -> go.Figure:
    """LSTM: prod of the last d forget gates, every unit (thin), their mean (bold), the mean at init (dashed)."""
    colour = arch_colour("lstm")
    units, steps = product_per_unit.shape
    figure = distance_lines([], title=title, y_title="∏ forget gates (log scale)",
                            height=460, reference=None)
    # All units in one trace, separated by NaN: one legend entry and a small payload.
    x = np.tile(np.append(np.arange(steps, dtype=np.float64), np.nan), units)
    y = np.concatenate([np.append(row, np.nan) for row in np.where(product_per_unit > 0, product_per_unit, np.nan)])
    unit_ids = np.repeat(np.arange(units), steps + 1)
    figure.add_trace(go.Scatter(
        x=x, y=y, mode="lines", name=f"each of the {units} units", customdata=unit_ids,
        line=dict(color=rgba(colour, 0.18), width=1),
        hovertemplate="unit %{customdata}<br>d = %{x} steps back<br>∏f = %{y:.4g}<extra></extra>",
    ))
    when = f" (step {step})" if step is not None else ""
    figure.add_trace(go.Scatter(
        x=np.arange(steps, dtype=np.int32), y=finite_or_nan(product_per_unit.mean(axis=0)), mode="lines",
        name=f"mean over units{when}", line=dict(color=colour, width=3),
        hovertemplate=f"mean over units{when}<br>d = %{{x}} steps back<br>∏f = %{{y:.4g}}<extra></extra>",
    ))
    if initial_mean is not None:
        figure.add_trace(go.Scatter(
            x=np.arange(len(initial_mean), dtype=np.int32), y=finite_or_nan(initial_mean), mode="lines",
            name="mean over units at initialisation", line=dict(color=rgba(colour, 0.6), width=1.8, dash="dash"),
            hovertemplate="mean at initialisation<br>d = %{x} steps back<br>∏f = %{y:.4g}<extra></extra>",
        ))
    return figure


# ----------------------------------------------------------------------------------------------------
# what if
def what_if_flows(curves: Sequence[tuple[str, np.ndarray]], *, title: str, colours: Sequence[str] | None = None,
                  dashes: Sequence[str] | None = None) -> go.Figure:
    """One line per setting: (name, grad norms (T,) by time step), drawn as the ratio by distance."""
    colours = list(colours) if colours is not None else ordered_colours(len(curves))
    lines = [
        Line(name, relative_by_distance(norms), colours[index], dash=(dashes[index] if dashes else "solid"))
        for index, (name, norms) in enumerate(curves)
    ]
    return distance_lines(lines, title=title, y_title=gradient_y_title(True), height=440)


def clipping_figure(runs: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray, str]], *, loss_name: str,
                    title: str) -> go.Figure:
    """Training loss and total gradient norm per step, one line per run: (name, steps, loss, grad norm, dash)."""
    figure = make_subplots(rows=1, cols=2, horizontal_spacing=0.1, subplot_titles=(
        f"training loss ({loss_name})", "total gradient norm before clipping"))
    colours = ["#000000", "#E69F00"]
    for index, (name, steps, loss, grad_norm, dash) in enumerate(runs):
        colour = colours[index % len(colours)]
        for col, values, what in ((1, loss, "loss"), (2, grad_norm, "‖∇‖")):
            figure.add_trace(go.Scatter(
                x=np.asarray(steps, dtype=np.int32), y=finite_or_nan(values), mode="lines", name=name,
                legendgroup=name, showlegend=col == 1, line=dict(color=colour, width=2, dash=dash),
                hovertemplate=f"{name}<br>step %{{x}}<br>{what} %{{y:.4g}}<extra></extra>",
            ), row=1, col=col)
    figure.update_xaxes(title=dict(text="training step"), **GRID)
    figure.update_yaxes(**LOG_AXIS)
    figure.update_yaxes(title=dict(text=f"{loss_name} (log scale)"), row=1, col=1)
    figure.update_yaxes(title=dict(text="‖∇θ L‖₂ (log scale)"), row=1, col=2)
    figure.update_layout(**BASE_LAYOUT, height=420, title=dict(text=title))
    return figure


def _play_controls(frame_names: Sequence[int]) -> dict:
    """Layout keywords for an animation under the chart: Play and Pause buttons, and a slider of its frames."""
    play = dict(frame=dict(duration=350, redraw=False), transition=dict(duration=0), fromcurrent=True, mode="immediate")
    return dict(
        updatemenus=[dict(
            type="buttons", direction="left", x=0, y=-0.42, xanchor="left", yanchor="top", showactive=False,
            buttons=[
                dict(label="▶ Play", method="animate", args=[None, play]),
                dict(label="❚❚ Pause", method="animate",
                     args=[[None], dict(frame=dict(duration=0, redraw=False), mode="immediate")]),
            ],
        )],
        sliders=[dict(
            active=0, x=0.16, y=-0.38, len=0.84, xanchor="left", yanchor="top", pad=dict(t=0),
            currentvalue=dict(prefix="training step ", font=dict(size=12)),
            steps=[dict(label=str(step), method="animate",
                        args=[[str(step)], dict(frame=dict(duration=0, redraw=False), mode="immediate")])
                   for step in frame_names],
        )],
    )


def gradient_animation(series: Mapping[str, tuple[str, Sequence[int], np.ndarray]], *, relative: bool = True,
                       title: str = "Animated over training: gradient reaching d steps back (press Play)") -> go.Figure:
    """The gradient-vs-distance chart with one animation frame per probe step, played in the browser (no server
    work per frame). `series`: arch -> (label, probe steps (K,), grad norms (K, T) by time step); at a step an
    architecture did not probe, it shows its latest earlier probe (one that stopped early keeps its last)."""
    transform = relative_by_distance if relative else absolute_by_distance
    arches = list(series)
    all_steps = sorted({int(s) for _, steps, _ in series.values() for s in steps})

    def latest(arch: str, step: int) -> tuple[int, np.ndarray]:
        _, steps, norms = series[arch]
        index = max(i for i, s in enumerate(steps) if s <= step) if min(steps) <= step else 0
        return int(steps[index]), transform(norms[index])

    figure = go.Figure()
    current_traces = []
    for arch in arches:
        label, _, norms = series[arch]
        colour = arch_colour(arch)
        initial = transform(norms[0])
        figure.add_trace(go.Scatter(
            x=np.arange(len(initial), dtype=np.int32), y=finite_or_nan(initial), mode="lines",
            name=f"{label} at initialisation", legendgroup=arch, line=dict(color=rgba(colour, 0.6), width=1.8, dash="dash"),
            hovertemplate=f"{label} at initialisation<br>d = %{{x}} steps back<br>%{{y:.4g}}<extra></extra>",
        ))
        shown_step, values = latest(arch, all_steps[0])
        current_traces.append(len(figure.data))
        figure.add_trace(go.Scatter(
            x=np.arange(len(values), dtype=np.int32), y=finite_or_nan(values), mode="lines", name=label,
            legendgroup=arch, line=dict(color=colour, width=2.5),
            hovertemplate=f"{label}<br>d = %{{x}} steps back<br>%{{y:.4g}}<extra></extra>",
        ))
    frames = []
    for step in all_steps:
        data = []
        for arch in arches:
            shown_step, values = latest(arch, step)
            data.append(go.Scatter(
                y=finite_or_nan(values),
                hovertemplate=f"{series[arch][0]} at step {shown_step}<br>d = %{{x}} steps back<br>%{{y:.4g}}<extra></extra>",
            ))
        frames.append(go.Frame(name=str(step), data=data, traces=current_traces))
    figure.frames = frames
    figure.update_layout(
        **{**BASE_LAYOUT, "margin": dict(l=70, r=20, t=50, b=170)}, height=560,
        title=dict(text=title),  # the slider under the chart names the step shown
        xaxis=DISTANCE_AXIS_LAYOUT,
        yaxis=dict(title=dict(text=gradient_y_title(relative)), **LOG_AXIS),
        **_play_controls(all_steps),
    )
    # Fix the y range over all frames, so the axis does not jump while playing.
    everything = np.concatenate([transform(row) for _, _, norms in series.values() for row in norms])
    everything = everything[np.isfinite(everything) & (everything > 0)]
    if everything.size:
        figure.update_yaxes(range=[np.floor(np.log10(everything.min())) - 0.5, np.ceil(np.log10(everything.max())) + 0.5])
    return figure
