"""Layer 3, runs as jobs: the one scheduler every background job goes through, training threads, runs shared by
every session, stored and bundled runs, presets, speed estimates, the presenter's narrative and the length sweep.
A peer of analysis and io: imports only core and below."""
