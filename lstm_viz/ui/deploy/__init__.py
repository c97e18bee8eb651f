"""The Deploy small page's glue: its settings, the compression job, its sections."""
