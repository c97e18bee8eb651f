"""The Inside the cell page: its settings and helpers, the traces it memoises, its sections."""
