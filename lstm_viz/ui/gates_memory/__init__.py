"""The Gates and memory page: its settings fallbacks, the traces it memoises, its sections."""
