"""The engine's own errors: each carries a message meant to be shown to the user as it is."""


class LstmVizError(Exception):
    """Base class: anything the app can explain to the user instead of crashing."""


class ConfigError(LstmVizError, ValueError):
    """A setting is out of its allowed range or inconsistent with another."""


class ModelFileError(LstmVizError):
    """A model file is missing, not safetensors, or does not match its config."""
