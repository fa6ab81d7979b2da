"""The `norrut` command. Each area registers its commands from norrut/cli/<area>.py.

Heavy libraries are imported inside the commands, so `norrut --help` stays fast and nothing
happens at import time.

A value an option cannot take is one line naming the option (exit code 2), the same for every
option. A command that fails in a way it did not foresee (a DuckDB, MLflow or OS error, or a
bug) prints one line naming the exception and exits 2; `NORRUT_DEBUG=1` shows the full
traceback instead. The traceback is not written to a file: an error message may quote input,
and personal data is never stored.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from core.errors import one_line
from core.home import HOME_ENV_VAR, NorrutHome
from norrut.cli.context import NorrutGroup, fail

DEBUG_ENV_VAR = "NORRUT_DEBUG"


class OneLineErrorsGroup(NorrutGroup):
    """The root command: a bad option value, or an unexpected exception of any command, becomes
    one line and exit 2."""

    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except typer.BadParameter as error:
            raise fail(_bad_value(error)) from None
        except (typer.TyperException, typer.Exit, typer.Abort):
            raise  # other usage errors, and the commands' own exits and one-line errors
        except Exception as error:
            if os.environ.get(DEBUG_ENV_VAR) == "1":
                raise
            typer.secho(f"error: {one_line(error)} (set {DEBUG_ENV_VAR}=1 for the traceback)",
                        fg=typer.colors.RED, err=True)
            raise typer.Exit(code=2) from None


def _bad_value(error: typer.BadParameter) -> str:
    """`--as-of: '2026-13-01' is not a date (YYYY-MM-DD)`: the option, then what is wrong."""
    if error.param is None or not error.message:
        return error.format_message()  # a missing argument or option says so itself
    param = error.param
    name = param.opts[0] if param.param_type_name == "option" else param.display_name_raw
    return f"{name}: {error.message}"


def _global_options(
    ctx: typer.Context,
    home: Annotated[
        Path | None,
        typer.Option(
            "--home",
            envvar=HOME_ENV_VAR,
            help="Folder holding the warehouse, MLflow store, exports and portal accounts "
            "\\[default: ./.norrut]",
            show_default=False,
        ),
    ] = None,
) -> None:
    ctx.obj = NorrutHome.resolve(home)


def build_app() -> typer.Typer:
    from norrut.cli import (
        activation,
        alerts,
        creatives,
        lift,
        modeling,
        monitor,
        orchestration,
        portal,
        simulate,
        warehouse,
    )

    # A new app each call: registering the commands twice on one app would list each twice.
    app = typer.Typer(
        cls=OneLineErrorsGroup,
        name="norrut",
        help="Norrut: find the people most likely to be curious about working in northern "
        "Sweden, and hand those audiences to the ad platforms. An error is said in one line "
        f"(exit code 2); set {DEBUG_ENV_VAR}=1 to see the traceback of an unexpected one.",
        no_args_is_help=True,
        pretty_exceptions_show_locals=False,
    )
    app.callback()(_global_options)
    for area in (simulate, warehouse, modeling, activation, lift, monitor, creatives,
                 orchestration, portal, alerts):
        area.register(app)
    return app


def main() -> None:
    build_app()()
