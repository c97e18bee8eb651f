"""The Try it page: picking a model and reading typed text through it."""
