"""What the Try it page reads off a character model's pass over a text: the probability it gave to each character
that actually follows, and how the text's brackets nest."""
import numpy as np
import pytest

from lstm_viz.analysis.text_generation import TextReading, nesting_of, probability_of_what_follows
from lstm_viz.core.tasks.brackets import BRACKETS


def test_the_probability_of_what_follows_is_read_at_the_next_token_and_nothing_follows_the_last():
    # Three steps over a vocabulary of four; the text's tokens are 2, 0, 3.
    inputs = np.eye(4)[[2, 0, 3]]
    probabilities = np.array([[0.1, 0.2, 0.3, 0.4],   # after token 2: P(next = 0) = 0.1
                              [0.5, 0.1, 0.1, 0.3],   # after token 0: P(next = 3) = 0.3
                              [0.25, 0.25, 0.25, 0.25]])
    reading = TextReading(tokens=["c", "a", "d"], unknown=[], trace=None, probabilities=probabilities)
    values = probability_of_what_follows(reading, inputs)
    assert values[:2] == pytest.approx([0.1, 0.3])
    assert np.isnan(values[2]) and len(values) == 3


@pytest.mark.parametrize("text, deepest, balanced", [
    ("f(a [b c] {d})", 2, True),
    ("((x", 2, False),            # two brackets left open
    ('a "(" b', 0, True),         # a bracket inside quotes does not nest
    ('a "( b', 0, False),         # a quote left open
])
def test_the_nesting_of_a_text(text, deepest, balanced):
    nesting = nesting_of(BRACKETS, text)
    assert (nesting.deepest, nesting.balanced) == (deepest, balanced)
