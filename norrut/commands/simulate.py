"""CLI commands for simulate (being built)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this area's commands to the norrut app."""
