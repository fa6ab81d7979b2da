"""What every command shares: the Norrut home chosen by --home, options made from a job's
settings, dates, one-line errors and the spinner (the progress bars: norrut/cli/progress.py).

A job's options are its settings' fields, one to one and with the same names (`horizon_days`
is `--horizon-days`): a `JobCommand` makes one for each field with a description, its help and
shown default from the settings class, so a new job parameter is one field there. An option
left out is not passed on, and the settings' own default applies.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from types import NoneType, UnionType
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

import typer
import typer.main
from pydantic import AwareDatetime, BaseModel, ValidationError
from typer.core import TyperCommand, TyperGroup, TyperOption
from typer.models import ParamMeta

from core.home import NorrutHome
from core.settings import FilesystemPath, JobSettings, NameList

DATE_FORMAT = "YYYY-MM-DD"
INSTANT_FORMAT = "YYYY-MM-DD[THH:MM:SS]"
NAMES_FORMAT = "NAME[,NAME...]"
# Where a job command keeps its generated options' values for job_settings (click's ctx.meta
# is the place for a command's own data).
GIVEN_OPTIONS = "norrut.job_options"
# The segments YAML of `export` and `pipeline` when --segments-file is not given.
SEGMENTS_FILE_ENV_VAR = "NORRUT_SEGMENTS_FILE"
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


def option_type(settings_class: type[BaseModel], field: str) -> Any:
    """The type of the option of a settings field (None: not given): a path for a PathText,
    a list of texts for a NameList, else the field's own bool, number, date, time or text."""
    info = settings_class.model_fields[field]
    value_type, metadata = info.annotation, list(info.metadata)
    if get_origin(value_type) in (Union, UnionType):  # `X | None`: the option is X
        [value_type] = [arg for arg in get_args(value_type) if arg is not NoneType]
    if get_origin(value_type) is Annotated:
        metadata += value_type.__metadata__
        value_type = get_args(value_type)[0]
    if any(isinstance(item, FilesystemPath) for item in metadata):
        return Path | None
    if value_type == tuple[str, ...] and all(item in metadata for item in NameList.__metadata__):
        return list[str] | None
    if value_type in (AwareDatetime, datetime):
        return datetime | None
    if value_type in (bool, int, float, str, date):
        return value_type | None
    raise TypeError(f"{settings_class.__name__}.{field} is a {value_type!r}, which no option "
                    "reads; leave its description out to keep it off the command line")


def setting_option(settings_class: type[BaseModel], field: str, *aliases: str,
                   **option: Any) -> Any:
    """The option of one settings field, named after it, with older spellings as `aliases`,
    for a command's parameter: `Annotated[str | None, setting_option(...)] = None`.

    The parameter defaults to None (not given); `settings_from` then leaves the field to its
    default. A bool field is a flag `--x/--no-x`; a date field reads YYYY-MM-DD, a time
    YYYY-MM-DD[THH:MM:SS]."""
    declarations, settings = _option_parts(settings_class, field, option)
    return typer.Option(*declarations, *aliases, **settings)


def _option_parts(settings_class: type[BaseModel], field: str,
                  option: Mapping[str, Any]) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The option's spellings, then its settings (`option` given, the rest from the field)."""
    value_type = option_type(settings_class, field)
    name = option_name(field)
    declarations = (f"{name}/--no-{name[2:]}",) if value_type == bool | None else (name,)
    settings: dict[str, Any] = {"help": setting_help(settings_class, field), "show_default": False}
    if value_type == date | None:
        settings.update(parser=parse_date, metavar=DATE_FORMAT)
    elif value_type == datetime | None:
        settings.update(parser=parse_instant, metavar=INSTANT_FORMAT)
    elif value_type == list[str] | None:
        settings.update(metavar=NAMES_FORMAT)
    return declarations, {**settings, **option}


@dataclasses.dataclass(frozen=True)
class JobOptions:
    """What a job's command offers of its settings: an option for each field with a
    description (not `home`, the root --home), older spellings, and more option settings."""

    settings_class: type[JobSettings]
    # field -> its spelling from before the options were named after the fields
    aliases: Mapping[str, str] = dataclasses.field(default_factory=dict)
    leave_out: frozenset[str] = frozenset()  # fields the command does not offer
    # field -> more typer.Option settings: a path's checks (exists, dir_okay...), an envvar
    option_settings: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)

    def fields(self) -> list[str]:
        """The fields offered, in the settings' order, those every job has (JobSettings') last."""
        offered = [name for name, info in self.settings_class.model_fields.items()
                   if info.description and name != "home" and name not in self.leave_out]
        return sorted(offered, key=lambda name: name in JobSettings.model_fields)

    def options(self) -> list[TyperOption]:
        unknown = (set(self.aliases) | set(self.option_settings)) - set(self.fields())
        if unknown:
            raise ValueError(f"{self.settings_class.__name__} offers no option for {unknown}")
        return [self._option(name) for name in self.fields()]

    def _option(self, name: str) -> TyperOption:
        aliases = (self.aliases[name],) if name in self.aliases else ()
        declarations, settings = _option_parts(self.settings_class, name,
                                               self.option_settings.get(name, {}))
        # Typer's own builder of an option from a function's parameter (`name=typer.Option(
        # None, ...)`), so a generated option parses, converts and shows its help as a declared
        # one does. It is private to typer (pinned in uv.lock): tests/code/test_cli_settings.py
        # fails on a change in it.
        return typer.main._get_param(ParamMeta(
            name=name, default=typer.Option(None, *declarations, *aliases, **settings),
            annotation=option_type(self.settings_class, name)))


class JobCommand(NorrutCommand):
    """A job's command: its settings' options, then the callback's own parameters (ctx,
    positional arguments, --json). The callback reads its settings with `job_settings`."""

    def __init__(self, *, job: JobOptions, params: list, **command: Any) -> None:
        clash = {param.name for param in params} & set(job.fields())
        if clash:  # the callback would be given the setting's value under its own name
            raise ValueError(f"{command.get('name')}: a parameter named like a setting: {clash}")
        self.job = job
        super().__init__(params=[*job.options(), *params], **command)

    @classmethod
    def for_settings(cls, settings_class: type[JobSettings], *,
                     aliases: Mapping[str, str] | None = None, leave_out: Iterable[str] = (),
                     option_settings: Mapping[str, Mapping[str, Any]] | None = None,
                     ) -> Callable[..., JobCommand]:
        """The `cls=` of a job's command (see JobOptions)."""
        return partial(cls, job=JobOptions(settings_class, aliases or {}, frozenset(leave_out),
                                           option_settings or {}))

    def invoke(self, ctx: typer.Context) -> Any:
        # Typer passes every parameter to the callback as a keyword: the settings' options are
        # not the callback's, so they move aside for job_settings. One not given is left out
        # (a repeatable one not given is empty).
        given = {name: ctx.params.pop(name) for name in self.job.fields()}
        ctx.meta[GIVEN_OPTIONS] = {name: value for name, value in given.items()
                                   if value is not None and value != ()}
        return super().invoke(ctx)


def option_value(ctx: typer.Context, field: str) -> Any:
    """The value given to a job command's option of `field`; None when not given."""
    return ctx.meta[GIVEN_OPTIONS].get(field)


def job_settings(ctx: typer.Context, **given: Any) -> Any:
    """The settings of the job command running: its options' values, then `given` (another
    way the callback takes a field, such as a positional argument; None: not given)."""
    command = ctx.command
    assert isinstance(command, JobCommand), f"{command.name} is not a JobCommand"
    values = dict(ctx.meta[GIVEN_OPTIONS])
    values.update((name, value) for name, value in given.items() if value is not None)
    return settings_from(command.job.settings_class, ctx, **values)


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
        elif isinstance(value, list | tuple):
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


def run_failure(failed: Exception, home: NorrutHome,
                 user_errors: tuple[type[BaseException], ...] = (),
                 suffix: str = "") -> typer.Exit:
    """One line for a failed run (a flow run or a direct one): a busy warehouse naming its
    holder, the user's mistake as it was raised (then `suffix`), anything else as the run's
    own error."""
    import duckdb

    from core.locking import WarehouseBusyError

    cause = failed.__cause__
    if isinstance(cause, duckdb.IOException):
        return fail(busy_message(home))
    if isinstance(cause, WarehouseBusyError):
        return fail(str(cause))
    if isinstance(cause, user_errors):
        return fail(f"{cause}{suffix}")
    return fail(f"the run failed: {failed}")


def resolved_as_of(home: NorrutHome, as_of: date | None) -> date:
    """`as_of`, else the default as-of date (warehouse/as_of.py), read before a run to show it;
    a missing, never set up, empty or busy warehouse is one line."""
    if as_of is not None:
        return as_of
    from warehouse.as_of import default_as_of
    from warehouse.db import open_warehouse
    from warehouse.status import check_set_up

    with reading_the_warehouse(home), open_warehouse(home.warehouse_path, read_only=True) as con:
        check_set_up(con, home.warehouse_path)
        return default_as_of(con, home.warehouse_path)


@contextmanager
def reading_the_warehouse(home: NorrutHome) -> Iterator[None]:
    """Around a read of the warehouse before a run: a missing, never set up, empty or busy
    warehouse is one line."""
    import duckdb

    from warehouse.as_of import NoEventsError
    from warehouse.db import WarehouseMissingError
    from warehouse.status import WarehouseNotSetUpError, is_writer_lock_conflict

    try:
        yield
    except (WarehouseMissingError, WarehouseNotSetUpError, NoEventsError) as error:
        raise fail(str(error)) from None
    except duckdb.IOException as error:
        if not is_writer_lock_conflict(error):
            raise  # not another run's doing: the CLI says what it is, in one line
        raise fail(busy_message(home)) from None


@contextmanager
def spinner(description: str) -> Iterator[Callable[[str], None]]:
    """A spinner with the elapsed time while a run works, on stderr and only on a terminal
    (norrut/cli/progress.py); yields a function to change its text."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from norrut.cli.progress import bars_shown

    console = Console(stderr=True)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=console, transient=True, disable=not bars_shown(console)) as progress:
        task = progress.add_task(description, total=None)
        yield lambda text: progress.update(task, description=text)
