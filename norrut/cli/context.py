"""What every command shares: the Norrut home chosen by --home, options made from a job's
settings, dates, one-line errors and the spinner.

A job's options are its settings' fields, one to one and with the same names (`horizon_days`
is `--horizon-days`); the help and the default shown come from the settings class, so they
are written once. An option left out is not passed on, and the settings' own default applies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from typer.core import TyperCommand, TyperGroup

from core.home import NorrutHome

DATE_FORMAT = "YYYY-MM-DD"
BUSY = "the warehouse is in use by {who} (one writer at a time); try again when it finishes"

Settings = TypeVar("Settings", bound=BaseModel)


def home_of(ctx: typer.Context) -> NorrutHome:
    """The NorrutHome chosen by --home / $NORRUT_HOME."""
    return ctx.find_root().obj or NorrutHome.resolve()


class _PlainHelp:
    """Typer 0.29's help shows a type (`<bool>`) after a flag, which takes no value, and braces
    around a required argument in the usage line (`{out}`); Norrut's help shows neither."""

    def format_help(self, ctx, formatter) -> None:
        for param in self.get_params(ctx):
            if getattr(param, "is_flag", False):
                param.metavar = ""
        super().format_help(ctx, formatter)

    def collect_usage_pieces(self, ctx) -> list[str]:
        return [piece.removeprefix("{").removesuffix("}")
                for piece in super().collect_usage_pieces(ctx)]


class NorrutCommand(_PlainHelp, TyperCommand):
    """A `norrut` command (pass as `cls=`)."""


class NorrutGroup(_PlainHelp, TyperGroup):
    """A `norrut` group of commands (pass as `cls=`)."""


def fail(message: str) -> typer.Exit:
    """Print a one-line error (no traceback) and give the exit (code 2) to raise."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=2)


def parse_date(value: str | date) -> date:
    """A day given as YYYY-MM-DD; every date option reads its value with this."""
    if isinstance(value, date):
        return value
    try:
        if len(value) == len("2026-11-01"):
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise typer.BadParameter(f"{value!r} is not a date ({DATE_FORMAT})")


def parse_instant(value: str | datetime) -> datetime:
    """An instant given as YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][+HH:MM], UTC unless it says."""
    if isinstance(value, datetime):
        return value
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a time ({DATE_FORMAT} or {DATE_FORMAT}THH:MM:SS)") from None
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def option_name(field: str) -> str:
    """The option of a settings field: `horizon_days` is `--horizon-days`."""
    return "--" + field.replace("_", "-")


def shown_default(settings_class: type[BaseModel], field: str) -> str:
    """The field's default as the help shows it; empty when it has none (None)."""
    default = settings_class.model_fields[field].default
    name = field.replace("_", "-")
    if default is None:
        return ""
    if isinstance(default, bool):
        return name if default else f"no-{name}"
    if isinstance(default, tuple):
        return ",".join(map(str, default))
    if isinstance(default, date):
        return default.isoformat()
    return str(default)


def setting_help(settings_class: type[BaseModel], field: str) -> str:
    """The field's description, then its default (escaped from Rich's markup)."""
    description = settings_class.model_fields[field].description or ""
    default = shown_default(settings_class, field)
    return f"{description} \\[default: {default}]" if default else description


def setting_option(settings_class: type[BaseModel], field: str, *aliases: str,
                   **option: Any) -> Any:
    """The option of one settings field, named after it, with older spellings as `aliases`.

    The command's parameter defaults to None (not given); `settings_from` then leaves the field
    to its default. A bool field is a flag `--x/--no-x`; a date field reads YYYY-MM-DD."""
    annotation = settings_class.model_fields[field].annotation
    name = option_name(field)
    declarations = (f"{name}/--no-{name[2:]}",) if annotation is bool else (name,)
    if annotation in (date, date | None) and "parser" not in option:
        option.update(parser=parse_date, metavar=DATE_FORMAT)
    return typer.Option(*declarations, *aliases, help=setting_help(settings_class, field),
                        show_default=False, **option)


def settings_from(settings_class: type[Settings], ctx: typer.Context, **given: Any) -> Settings:
    """The job's settings from the options given (None: not given, the default applies), with
    `home` from the root --home. A path is made absolute, so the flow run's parameters name the
    file; a repeated option's values are joined with commas, as a list field reads them. A value
    the settings refuse is one line naming its option, exit code 2."""
    values: dict[str, Any] = {"home": str(home_of(ctx).root)}
    for field, value in given.items():
        if value is None:
            continue
        if isinstance(value, Path):
            value = str(value.resolve())
        elif isinstance(value, list):
            value = ",".join(value)
        values[field] = value
    try:
        return settings_class(**values)
    except ValidationError as error:
        raise fail("; ".join(_problem(problem) for problem in error.errors())) from None


def _problem(problem: dict[str, Any]) -> str:
    message = problem["msg"].removeprefix("Value error, ")
    if not problem["loc"]:
        return message
    return f"{option_name(str(problem['loc'][0]))}: {message}"


def busy_message(home: NorrutHome) -> str:
    """A writer holds the warehouse: name its run when it recorded itself."""
    from core.locking import lock_path_for, read_holder

    holder = read_holder(lock_path_for(home.warehouse_path, home.locks_dir))
    return BUSY.format(who=holder.describe() if holder else "another norrut process")


def flow_failure(failed: Exception, home: NorrutHome,
                 user_errors: tuple[type[BaseException], ...] = (),
                 suffix: str = "") -> typer.Exit:
    """One line for a failed flow run: a busy warehouse naming its holder, the user's mistake
    as it was raised (then `suffix`), anything else as the run's own error."""
    import duckdb

    from core.locking import WarehouseBusyError

    cause = failed.__cause__
    if isinstance(cause, duckdb.IOException):
        return fail(busy_message(home))
    if isinstance(cause, WarehouseBusyError):
        return fail(str(cause))
    if isinstance(cause, user_errors):
        return fail(f"{cause}{suffix}")
    return fail(f"the flow run failed: {failed}")


def resolved_as_of(home: NorrutHome, as_of: date | None) -> date:
    """`as_of`, else the default as-of date (warehouse/as_of.py), read before a run to show it;
    a missing, never set up, empty or busy warehouse is one line."""
    if as_of is not None:
        return as_of
    import duckdb

    from warehouse.as_of import NoEventsError, default_as_of
    from warehouse.db import WarehouseMissingError, open_warehouse
    from warehouse.status import WarehouseNotSetUpError, check_set_up, is_writer_lock_conflict

    try:
        with open_warehouse(home.warehouse_path, read_only=True) as con:
            check_set_up(con, home.warehouse_path)
            return default_as_of(con)
    except (WarehouseMissingError, WarehouseNotSetUpError, NoEventsError) as error:
        raise fail(str(error)) from None
    except duckdb.IOException as error:
        if not is_writer_lock_conflict(error):
            raise  # not another run's doing: the CLI says what it is, in one line
        raise fail(busy_message(home)) from None


@contextmanager
def spinner(description: str) -> Iterator[Callable[[str], None]]:
    """A spinner with the elapsed time while a run works; yields a function to change its text."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  transient=True) as progress:
        task = progress.add_task(description, total=None)
        yield lambda text: progress.update(task, description=text)
