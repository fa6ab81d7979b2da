"""The `norrut` command: app.py holds the root, one module per area registers its commands."""
