"""User text is shown as text: file names, column names, labels and typed sentences go through `plain` before they
reach anything Streamlit renders as markdown (st.markdown, st.caption, st.error, widget labels...), so no markdown,
LaTeX, colour, emoji shortcode, HTML or link in them takes effect. `short` cuts a long one for a caption; the
caller passes the full text as the element's `help` (a tooltip)."""
from __future__ import annotations

import re

# CommonMark lets a backslash escape any ASCII punctuation; Streamlit's $...$ (KaTeX), :colour[...], :emoji: and
# :material/...: all start with one, and an escaped ":" or "." stops "https://..." and "www." becoming links.
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def plain(text: object) -> str:
    """`text` as markdown that renders as exactly this text (line breaks become spaces)."""
    return _PUNCTUATION.sub(r"\\\1", " ".join(str(text).split()))


def short(text: object, limit: int = 40) -> str:
    """`text` (one line) cut to `limit` characters with an ellipsis; not escaped."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plain_short(text: object, limit: int = 40) -> str:
    return plain(short(text, limit))
