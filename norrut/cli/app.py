"""The `norrut` command. Each area registers its commands from norrut/cli/<area>.py.

Heavy libraries are imported inside the commands, so `norrut --help` stays fast and nothing
happens at import time.

A command that fails in a way it did not foresee (a DuckDB, MLflow or OS error, or a bug) prints
one line naming the exception and exits 2; `NORRUT_DEBUG=1` shows the full traceback instead.
The traceback is not written to a file: an error message may quote input, and personal data is
never stored.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import click
import typer
from typer.core import TyperGroup

from core.errors import one_line
from core.home import HOME_ENV_VAR, NorrutHome

DEBUG_ENV_VAR = "NORRUT_DEBUG"


class OneLineErrorsGroup(TyperGroup):
    """The root command: an unexpected exception of any command becomes one line and exit 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, typer.Exit,
                typer.Abort):
            raise  # usage errors and the commands' own exits and one-line errors
        except Exception as error:
            if os.environ.get(DEBUG_ENV_VAR) == "1":
                raise
            typer.secho(f"error: {one_line(error)} (set {DEBUG_ENV_VAR}=1 for the traceback)",
                        fg=typer.colors.RED, err=True)
            raise typer.Exit(code=2) from None


app = typer.Typer(
    cls=OneLineErrorsGroup,
    name="norrut",
    help="Norrut: find the people most likely to be curious about working in northern Sweden, "
    "and hand those audiences to the ad platforms. An error is said in one line (exit code 2); "
    f"set {DEBUG_ENV_VAR}=1 to see the traceback of an unexpected one.",
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


def build_app() -> typer.Typer:
    from norrut.cli import (
        activation,
        alerts,
        lift,
        modeling,
        orchestration,
        portal,
        simulate,
        warehouse,
    )

    for area in (simulate, warehouse, modeling, activation, lift, orchestration, portal, alerts):
        area.register(app)
    return app


def main() -> None:
    build_app()()
