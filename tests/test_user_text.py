"""User text is shown as text (issue 10, F6): no markdown, LaTeX, colour, emoji code, HTML or link in a file name,
column name, label or typed sentence takes effect, and long labels are cut with the full text on hover."""
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from lstm_viz.figures.labels import LABEL_CHARACTERS, plotly_text, short_labels
from lstm_viz.figures.text import class_probabilities, word_by_word
from lstm_viz.ui.plain import plain
from tests.app_support import clear_caches_and_data, open_from_home, shown  # noqa: F401

HOSTILE = "**bold** _it_ $x^2$ :red[red] :smile: <b>html</b> [link](https://evil.example) www.evil.example # h1 `code` 1. |t|"


def unescaped(markdown: str) -> list[str]:
    """ASCII punctuation not preceded by a backslash: what markdown could still read as syntax."""
    return [m.group(0) for m in re.finditer(r"\\.|[!-/:-@\[-`{-~]", markdown) if not m.group(0).startswith("\\")]


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_plain_markdown_shows_exactly_the_text_and_leaves_no_syntax(text):
    escaped = plain(text)
    assert shown(escaped) == " ".join(text.split())
    assert unescaped(escaped) == []


def test_a_hostile_label_is_escaped_everywhere_markdown_could_read_it():
    escaped = plain(HOSTILE)
    assert unescaped(escaped) == []  # every * _ $ : [ ] < > ( ) . # ` | carries its backslash
    for syntax in ("**", ":red[", ":smile:", "<b>", "](", "https://", "www.", "``"):
        assert syntax not in escaped
    assert shown(escaped) == HOSTILE


def test_plotly_text_escapes_html_latex_and_hover_placeholders():
    assert plotly_text('<a href="https://evil.example">x</a>') == '&lt;a href="https://evil.example"&gt;x&lt;/a&gt;'
    assert plotly_text("$E=mc^2$").startswith("\u200b$")
    assert "%{" not in plotly_text("%{x} & %{y}")


def test_a_300_character_label_is_cut_on_the_axis_and_shown_whole_in_the_hover():
    long = "a very long class name " * 13  # about 300 characters
    classes = [long[:300], long[:299] + "!", "<b>short</b>"]
    figure = class_probabilities(classes, [0.2, 0.3, 0.5], title="Probability of each class")
    ticks = list(figure.layout.yaxis.ticktext)
    assert all(len(tick) <= LABEL_CHARACTERS + len("&lt;&gt;&lt;/&gt;") for tick in ticks)
    assert len(set(ticks)) == 3 and ticks[2] == "&lt;b&gt;short&lt;/b&gt;"
    assert list(figure.data[0].customdata) == [plotly_text(c) for c in classes]
    assert figure.layout.margin.l == 90 and figure.layout.height == 90 + 42 * 3  # the chart's own size is kept


def test_word_by_word_legend_names_are_cut_and_escaped():
    import html

    import numpy as np

    lines = {f"P({'<i>x</i>' * 20})": np.full(3, 0.5), "P(short)": np.full(3, 0.5)}
    figure = word_by_word(["a", "<b>", "c"], [], lines, {"hidden_state": np.zeros((3, 2))}, title="t")
    names = [trace.name for trace in figure.data if trace.type == "scatter"]
    assert names[1] == "P(short)" and "<i>" not in names[0] and len(html.unescape(names[0])) == 2 * LABEL_CHARACTERS
    ticks = [tick for axis in ("xaxis", "xaxis2") for tick in (figure.layout[axis].ticktext or ())]
    assert "&lt;b&gt;" in ticks


def test_an_uploaded_file_with_markdown_in_its_name_and_labels_is_shown_as_text():
    labels = ["**loud**", "$x$"]
    rows = "\n".join(f"the soup number {i} was cold,{labels[i % 2]}" for i in range(30))
    name = "[click](https://evil.example) **me**.csv"
    at = open_from_home("pages/try_it.py")
    at.file_uploader(key="text_upload_file").set_value((name, f"text,label\n{rows}\n".encode(), "text/csv")).run()
    assert not at.exception
    message = at.success[0].value
    assert message.startswith(f"**{plain(name)}** is ready")  # the page's own bold around the escaped name
    assert f"{plain('**loud**')} 15" in message and f"{plain('$x$')} 15" in message
    for syntax in ("$x$", "](", "https://"):
        assert syntax not in message
