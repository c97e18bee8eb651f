"""User text inside Plotly figures (class labels, file names, typed words): shown as text, and short.

Plotly renders a pseudo-HTML subset in titles, tick labels, legends and hover labels (<b>, <a href=...>, <span
style=...>), a string wrapped in $...$ as LaTeX, and %{...} in a hovertemplate; `plotly_text` escapes them. `short_labels` cuts long labels so
the plot keeps its size (a 300-character class name made the left margin eat all but about 60 px of the probability
chart), keeping them distinct; the figure puts the full label in the hover text.
"""
from __future__ import annotations

import html
from typing import Sequence

LABEL_CHARACTERS = 24


def plotly_text(text: object) -> str:
    # "%" too: a hovertemplate would read "%{x}" in a label as a placeholder.
    escaped = html.escape(" ".join(str(text).split()), quote=False).replace("%", "&#37;")
    # Plotly treats a string that starts and ends with $ as LaTeX; a leading zero-width space keeps it literal.
    return "\u200b" + escaped if escaped.startswith("$") else escaped


def short_labels(labels: Sequence[object], limit: int = LABEL_CHARACTERS) -> list[str]:
    """Each label on one line and at most `limit` characters (an ellipsis where cut), all distinct, not escaped."""
    shown: list[str] = []
    for label in labels:
        text = " ".join(str(label).split())
        cut = text if len(text) <= limit else text[: limit - 1] + "…"
        candidate, number = cut, 2
        while candidate in shown:
            suffix = f" ({number})"
            candidate, number = cut[: limit - len(suffix)] + suffix, number + 1
        shown.append(candidate)
    return shown
