"""Layer 3, files in and out: exports, the standalone reproduction script, checked model uploads and the command
line. A peer of analysis and runs: imports only core and below."""
