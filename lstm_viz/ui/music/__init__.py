"""The Music page's glue: the primer, sampling, the player, the piano roll."""
