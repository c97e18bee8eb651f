"""The Best-practice lab page's glue: one module per practice, each with a `section(page)` the page calls."""
