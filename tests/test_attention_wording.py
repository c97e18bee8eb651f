"""What the Gates and memory page says under an attention map: the last position's strongest keys, none with a
negligible weight listed as if it mattered."""
import numpy as np

from lstm_viz.ui.gates_memory.attention import last_position_sentence
from tests import app_support
from tests.test_page_transformer import explored, finished_run, traced_attention  # noqa: F401


def test_a_head_that_puts_all_its_weight_on_one_position_is_said_to_look_at_that_one_only():
    row = np.zeros(100)
    row[21] = 1.0
    assert last_position_sentence(row) == "The last position puts 100.0% of its attention on position 21."


def test_the_strongest_keys_are_listed_with_their_weights_and_their_total_share():
    row = np.array([0.05, 0.5, 0.005, 0.3, 0.145])
    assert last_position_sentence(row) == ("The last position looks most at positions 1 (0.500), 3 (0.300), "
                                           "4 (0.145): together 94.5% of its attention.")
    spread = np.full(200, 1 / 200)
    assert "no position gets 0.01 or more" in last_position_sentence(spread)


def test_the_page_caption_names_only_keys_that_hold_a_real_share(explored):  # noqa: F811
    at = app_support.open_page("pages/gates_memory.py", {"gm_arch": "transformer"}, timeout=120)
    assert not at.exception
    step = explored.runs["transformer"].checkpoints[-1].step
    last = traced_attention(explored, step, explored.test_inputs[0].numpy())[0][0, 0, -1]
    caption = next(c.value for c in at.caption if c.value.startswith("Row t:"))
    strongest = [int(s) for s in np.argsort(last)[::-1][:3] if last[s] >= 0.01]
    for position in strongest:
        assert f"{position} ({last[position]:.3f})" in caption or f"on position {position}." in caption
    assert "(0.000)" not in caption


def test_the_gradient_lab_explains_the_transformers_spiky_curve(explored):  # noqa: F811
    at = app_support.open_page("pages/gradient_lab.py", timeout=120)
    assert not at.exception
    note = next(c.value for c in at.caption if c.value.startswith("Transformer: its hₜ"))
    # The table beside it shows a tiny ratio 50 steps back for a trained Transformer: the note says why.
    assert "does not slope with distance" in note and "where attention looks" in note


def test_an_attention_map_keeps_its_axes_to_the_positions_when_its_cells_are_kept_square():
    from lstm_viz.figures.attention import attention_map

    weights = np.tril(np.ones((5, 5))) / np.arange(1, 6)[:, None]
    figure = attention_map(weights, title="t", subtitle="example 1, layer 1 of 1, head 1 of 2")
    # Square cells shrink the plot ("domain"), rather than padding an axis with positions that do not exist.
    assert figure.layout.xaxis.constrain == "domain" and figure.layout.yaxis.constrain == "domain"
    assert figure.layout.yaxis.scaleanchor == "x"
    assert figure.layout.title.subtitle.text == "example 1, layer 1 of 1, head 1 of 2"


def test_the_marked_inputs_guides_span_the_map_not_the_whole_figure():
    from lstm_viz.figures.attention import attention_map

    weights = np.tril(np.ones((6, 6))) / np.arange(1, 7)[:, None]
    figure = attention_map(weights, title="t", marked=(1, 4), height=520)
    guides = [shape for shape in figure.layout.shapes if shape.type == "line"]
    assert [shape.x0 for shape in guides] == [1, 4]
    assert all(shape.yref == "y domain" and (shape.y0, shape.y1) == (0, 1) for shape in guides)
    assert figure.layout.height == 520
