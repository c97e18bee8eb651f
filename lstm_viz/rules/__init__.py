"""Layer 0, what every layer shares: the one error type (errors), the typed checks of every setting (checks), every
bound on a setting (ranges), the lookup both registries use (registry) and where the shipped files are (paths).
Imports nothing of lstm_viz."""
