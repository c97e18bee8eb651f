"""What every layer shares: the one error type, the typed checks of every setting, the registry lookup."""
