"""Glue of the "Gates and memory" page: its constants, and how an example is named in memo keys. Its settings are
declared in page_schemas.GATES_MEMORY (a value the run does not offer falls back through page_url.fit); the view a run
of the page shows and the memos of its traces are in traces.py, its sections in sections.py."""
from __future__ import annotations

import hashlib

import numpy as np

from lstm_viz.analysis import memory
from lstm_viz.ui.page_schemas import (  # noqa: F401 - the page reads them here
    GM_PICKS as PICKS, GM_SEARCHES as SEARCHES, THRESHOLD_RANGE,
)

TRAJECTORY_UNITS = 6
SEARCH_UNITS = 6


def example_key(example: memory.Example) -> str:
    """Inputs and tokens: two typed texts whose unknown characters encode alike still differ in what is shown."""
    digest = hashlib.sha1(np.ascontiguousarray(example.inputs).tobytes())
    digest.update("\x00".join(example.tokens or []).encode())
    return digest.hexdigest()[:16]
