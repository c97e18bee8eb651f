"""Data the tasks read: series and text, validated uploads, and the in-memory store that names them."""
