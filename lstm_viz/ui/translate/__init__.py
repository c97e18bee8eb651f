"""The Translate page: its models (shipped or trained in this session) and its sections."""
