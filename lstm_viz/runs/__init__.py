"""Runs as jobs: the scheduler, background trainings, shared and stored runs, bundled runs, presets, sweeps."""
