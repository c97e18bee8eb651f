"""The attention figures (lstm_viz.figures.attention): what they draw from the weights they are given."""
import numpy as np

from lstm_viz.figures.attention import MAX_ATTENTION_POSITIONS, attention_map, attention_step_bars


def causal_weights(steps: int, seed: int = 0) -> np.ndarray:
    """Rows of a random causal softmax: row t spread over 0..t, summing to 1."""
    scores = np.random.default_rng(seed).normal(size=(steps, steps))
    scores[np.triu_indices(steps, k=1)] = -np.inf
    weights = np.exp(scores - scores.max(axis=1, keepdims=True))
    return weights / weights.sum(axis=1, keepdims=True)


def test_the_map_shows_every_weight_leaves_the_future_blank_and_labels_both_axes_with_the_tokens():
    weights = causal_weights(6)
    tokens = ["a", "b", "<b>", "a", "c", "d"]
    figure = attention_map(weights, title="head 1", labels=tokens, marked=[2])
    heatmap = figure.data[0]
    z = np.asarray(heatmap.z, dtype=np.float64)
    lower = np.tril_indices(6)
    np.testing.assert_allclose(z[lower], weights[lower], rtol=1e-6)
    assert np.isnan(z[np.triu_indices(6, k=1)]).all()
    assert list(heatmap.x) == list(heatmap.y) and heatmap.x[2] == "2 · &lt;b&gt;"  # user text escaped, kept unique
    assert heatmap.x[0] != heatmap.x[3]  # "a" twice: two positions, two labels
    assert heatmap.zmax == float(weights.max()) and heatmap.colorbar.title.text == "attention<br>weight"
    assert [shape.x0 for shape in figure.layout.shapes] == ["2 · &lt;b&gt;"]
    assert figure.layout.yaxis.autorange == "reversed" and figure.layout.title.text == "head 1"


def test_a_long_input_shows_its_last_positions_and_says_so():
    steps = MAX_ATTENTION_POSITIONS + 57
    weights = causal_weights(steps, seed=1)
    figure = attention_map(weights, title="long", marked=[3, steps - 5])
    heatmap = figure.data[0]
    assert list(heatmap.x) == list(range(57, steps))
    np.testing.assert_allclose(np.asarray(heatmap.z, dtype=np.float64)[-1], weights[-1, 57:], rtol=1e-6)
    assert f"the last {MAX_ATTENTION_POSITIONS} of {steps} positions" in figure.layout.title.text
    assert [shape.x0 for shape in figure.layout.shapes] == [steps - 5]  # the guide outside the window is left out


def test_the_step_bars_are_the_scores_and_weights_over_the_earlier_positions():
    scores = np.array([0.5, -1.0, 2.0, 0.0])
    weights = np.exp(scores) / np.exp(scores).sum()
    figure = attention_step_bars(scores, weights, title="t = 3", labels=["x", "y", "z", "w"])
    np.testing.assert_allclose(figure.data[0].y, scores, rtol=1e-6)
    np.testing.assert_allclose(figure.data[1].y, weights, rtol=1e-6)
    assert list(figure.data[1].customdata) == ["x", "y", "z", "w"]
    assert figure.layout.xaxis2.title.text.startswith("key position s")
