"""Layer 2, the model and its training: architectures/ and tasks/ (one file each, one registry each), the model,
RunConfig, the trainer and its records and verdict, the stopping rules, traces (every gate at every step) and the
per-step gradient probe. Imports only rules and data."""
