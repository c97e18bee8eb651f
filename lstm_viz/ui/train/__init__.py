"""The Train page: its settings widgets, the live run view, the figures of a run and the downloads."""
