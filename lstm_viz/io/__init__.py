"""Files in and out: exports, the standalone script, model uploads and the command line."""
