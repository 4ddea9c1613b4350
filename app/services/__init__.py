"""Services: orchestrate gis → solver → persist. They add and flush; the caller's session scope commits.

Each function takes the session as its first argument and raises domain errors (``gis.errors.InputError``,
``app.core.errors.NotFound``/``Conflict``), never HTTP ones, so a worker or the CLI can call them too.
"""
