"""The Length sweep page: the session's sweep and the page's sections."""
