"""The `norrut` command. Each area registers its commands from norrut/commands/<area>.py.

Heavy libraries are imported inside the commands, so `norrut --help` stays fast and nothing
happens at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from norrut.home import HOME_ENV_VAR, NorrutHome

app = typer.Typer(
    name="norrut",
    help="Norrut: find the people most likely to be curious about working in northern Sweden, "
    "and hand those audiences to the ad platforms.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _global_options(
    ctx: typer.Context,
    home: Annotated[
        Path | None,
        typer.Option(
            "--home",
            envvar=HOME_ENV_VAR,
            help="Folder holding the warehouse, MLflow store, exports and portal accounts "
            "[default: ./.norrut].",
            show_default=False,
        ),
    ] = None,
) -> None:
    ctx.obj = NorrutHome.resolve(home)


def home_of(ctx: typer.Context) -> NorrutHome:
    """The NorrutHome chosen by --home / $NORRUT_HOME."""
    return ctx.find_root().obj or NorrutHome.resolve()


def build_app() -> typer.Typer:
    from norrut.commands import (
        activation,
        lift,
        modeling,
        orchestration,
        portal,
        simulate,
        warehouse,
    )

    for area in (simulate, warehouse, modeling, activation, lift, orchestration, portal):
        area.register(app)
    return app


def main() -> None:
    build_app()()
