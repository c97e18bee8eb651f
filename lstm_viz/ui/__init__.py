"""Layer 5, the Streamlit glue: the only package (with app.py and pages/) that imports streamlit.

At the top, what every page shares: `state` (the Train settings and `init_session`), `session_run` and
`session_jobs` (one handle per background job of a session), `services` (the server's scheduler and shared runs),
`page_state`, `page_schemas` and `page_url` (one settings schema per page, read from the address and written back on
every run), `memo` (figures shared by every session), `charts`, `presenter`, `navigation`, `boundary`. Below, one
package per page (train, gates_memory, inside_cell, gradient_lab, try_it, length_sweep, forecast) with its
settings, the traces it memoises and its sections.
"""
