"""In Chromium (issue 10, F6): a 300-character class label leaves the probability chart its width, and a label
written as HTML or LaTeX is drawn as the text it is. Plotly's own renderer draws the figure from the engine
(lstm_viz.figures.text), offline: plotly.js is inlined, nothing is fetched."""
import plotly.io as pio

from lstm_viz.figures.text import class_probabilities
from tests.browser_support import browser, page  # noqa: F401

VIEWPORT = {"width": 700, "height": 600}  # the Try it page's right column is about this wide at 1400 px


def plot_width_and_ticks(page, classes) -> tuple[float, list[str]]:
    figure = class_probabilities(classes, [1 / len(classes)] * len(classes), title="Probability of each class")
    page.set_content(pio.to_html(figure, include_plotlyjs=True, full_html=True, config={"responsive": True}))
    page.wait_for_selector("rect.nsewdrag")
    width = page.locator("rect.nsewdrag").first.bounding_box()["width"]
    return width, page.locator(".yaxislayer-above .ytick text").all_text_contents()


def test_a_300_character_label_keeps_the_probability_charts_width(page):  # noqa: F811
    short_width, _ = plot_width_and_ticks(page, ["food", "weather"])
    long_label = ("a remarkably long label that someone typed into a spreadsheet " * 5)[:300]
    long_width, ticks = plot_width_and_ticks(page, [long_label, "weather"])
    assert long_width > 0.75 * short_width and long_width > 300, (long_width, short_width)
    assert len(ticks[0]) <= 24 and ticks[0].endswith("…")


def test_html_and_latex_in_a_label_are_drawn_as_text(page):  # noqa: F811
    _, ticks = plot_width_and_ticks(page, ["<b>bold</b>", "$x^2$"])
    assert ticks == ["<b>bold</b>", "\u200b$x^2$"]
    assert page.locator(".yaxislayer-above .ytick text b, .yaxislayer-above .ytick text a").count() == 0
