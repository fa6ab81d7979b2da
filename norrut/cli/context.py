"""What every command reads from the root command: the Norrut home chosen by --home."""

from __future__ import annotations

import typer

from core.home import NorrutHome


def home_of(ctx: typer.Context) -> NorrutHome:
    """The NorrutHome chosen by --home / $NORRUT_HOME."""
    return ctx.find_root().obj or NorrutHome.resolve()
