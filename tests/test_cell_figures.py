"""The step figures encode the step's numbers: bar heights, line widths and colours, hover values."""
import numpy as np
import pytest

from lstm_viz.figures.cell import MAX_WIDTH, MIN_WIDTH, lstm_diagram, unit_vectors, value_colour, value_width
from lstm_viz.analysis.cell_step import gru_step, sandbox_step


def test_value_encoding_is_linear_and_clipped():
    assert value_colour(-1.0) == value_colour(-7.0) == "rgb(213,94,0)"
    assert value_colour(0.0) == "rgb(187,187,187)"
    assert value_colour(1.0) == value_colour(3.0) == "rgb(0,114,178)"
    assert value_colour(0.5) == "rgb(94,150,182)"  # half way from grey (187,187,187) to blue (0,114,178)
    assert value_width(0.0) == MIN_WIDTH and value_width(1.0) == value_width(-4.0) == MAX_WIDTH
    assert value_width(0.25) == pytest.approx(MIN_WIDTH + 0.25 * (MAX_WIDTH - MIN_WIDTH))
    assert value_colour(float("nan")) == value_colour(0.0)


def test_diagram_lines_carry_the_step_values():
    step = sandbox_step(0.3, -0.2, 0.8, {"forget_gate": 2.0, "input_gate": -1.0, "candidate": 0.5, "output_gate": 0.1})
    figure = lstm_diagram(step, 0, title="test")
    paths = [shape for shape in figure.layout.shapes if shape.type == "path"]
    f, c = step.gates["forget_gate"].value[0], step.c[0]
    forget_line = next(p for p in paths if p.line.width == pytest.approx(value_width(f)) and p.path.startswith("M 2.6,2.2"))
    assert forget_line.line.color == value_colour(f)
    belt_out = next(p for p in paths if p.path.endswith(",5.0") and "10.7" in p.path)
    assert belt_out.line.width == pytest.approx(value_width(c)) and belt_out.line.color == value_colour(c)
    hover = figure.data[0].hovertext
    assert f"cₜ, the new cell state = {c:.6f}" in hover
    assert f"hₜ, the new hidden state = {step.h[0]:.6f}" in hover
    assert f"fₜ = σ(pre-activation) = {f:.6f}" in hover
    assert figure.data[1].marker.showscale  # the colour bar explains the encoding
    with pytest.raises(ValueError):
        lstm_diagram(gru_step({"weight_ih": np.ones((3, 1)), "weight_hh": np.ones((3, 1)), "bias_ih": np.zeros(3),
                               "bias_hh": np.zeros(3)}, np.ones(1), np.zeros(1)), 0, title="gru")


def test_unit_bars_highlight_the_chosen_unit():
    rng = np.random.default_rng(0)
    vectors = {"forget_gate": rng.random(10), "cell_state": rng.normal(scale=3, size=10)}
    figure = unit_vectors(vectors, 4, arch="lstm", title="bars")
    assert len(figure.data) == 4
    others, chosen = figure.data[0], figure.data[1]
    assert list(others.x) == [0, 1, 2, 3, 5, 6, 7, 8, 9]
    assert np.allclose(others.y, np.delete(vectors["forget_gate"], 4), atol=1e-6)
    assert list(chosen.x) == [4] and chosen.y[0] == vectors["forget_gate"][4]
    assert chosen.name == "unit 4" and chosen.showlegend and not figure.data[3].showlegend
    assert list(figure.layout.yaxis.range) == [0.0, 1.0]
    limit = max(1.0, np.abs(vectors["cell_state"]).max() * 1.05)
    assert list(figure.layout.yaxis2.range) == pytest.approx([-limit, limit])
