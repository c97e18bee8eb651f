"""The engine's own errors: each carries a message meant to be shown to the user as it is."""


class LstmVizError(Exception):
    """Base class: anything the app can explain to the user instead of crashing."""


class ConfigError(LstmVizError, ValueError):
    """A setting is out of its allowed range or inconsistent with another."""


class ModelFileError(LstmVizError):
    """A model file is missing, not safetensors, or does not match its config."""


class UploadError(LstmVizError):
    """A user's file or pasted text cannot be used; the message says what is wrong and how to fix it."""
