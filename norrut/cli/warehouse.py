"""CLI commands for the warehouse: `norrut ingest`, `norrut optout`, `norrut status`,
`norrut shards create`, `norrut shards split`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from norrut.cli.context import (
    JobCommand,
    NorrutCommand,
    NorrutGroup,
    busy_message,
    fail,
    home_of,
    job_settings,
    option_value,
    run_failure,
    spinner,
)
from norrut.cli.progress import progress_bar
from warehouse.settings import IngestSettings, OptoutSettings


def _one_of(argument: Path | None, option: Path | None, what: str, option_name: str) -> Path | None:
    """The path given as the positional argument or as its option, not both."""
    if argument is not None and option is not None and argument != option:
        raise fail(f"give the {what} once: as the argument or with {option_name}")
    return option if option is not None else argument


def ingest(
    ctx: typer.Context,
    inbox_argument: Annotated[Path | None, typer.Argument(
        metavar="INBOX", show_default=False,
        help="Folder of event files (.jsonl/.ndjson/.csv, optionally .gz, and .parquet); "
             "the same as --inbox.")] = None,
) -> None:
    """Load every event file of INBOX not loaded before; bad rows go to quarantine.

    With --strict the command exits with status 1 when any file or row was quarantined
    (everything valid is still loaded). The summary is also written to
    <home>/reports/ingest/latest.md; with PREFECT_API_URL set, the command runs as a Prefect
    flow run named ingest-<date> of that server instead, with the summary as its artifact."""
    from rich.console import Console

    from flows.run import JobRunFailed, run_ingest
    from warehouse.catalog import CatalogError
    from warehouse.ingest import InboxError, StrictIngestError, list_event_files

    settings = job_settings(ctx, inbox=_one_of(
        inbox_argument, option_value(ctx, "inbox"), "inbox", "--inbox"))
    home = settings.norrut_home().ensure()
    try:
        total = len(list_event_files(settings.inbox_path()))
    except InboxError as error:
        raise fail(str(error)) from None
    if settings.catalog is not None and not Path(settings.catalog).is_file():
        raise fail(f"catalog {settings.catalog} does not exist")
    failed_strict = False
    try:
        with progress_bar("ingest", total, unit="files") as progress:
            report = run_ingest(settings, quiet=True, progress=progress)
    except JobRunFailed as failed:
        if not isinstance(failed.__cause__, StrictIngestError):
            raise run_failure(failed, home, (InboxError, CatalogError)) from None
        report, failed_strict = failed.__cause__.report, True
    _print_ingest_summary(Console(), report)
    if failed_strict:
        typer.secho("--strict: something was quarantined", fg=typer.colors.YELLOW, err=True)
        raise typer.Exit(code=1)


def _print_ingest_summary(console, report) -> None:
    from rich.table import Table

    table = Table(title="Ingest summary", show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    rows = [
        ("files loaded", report.files_loaded),
        ("files already loaded (skipped)", report.files_already_loaded),
        ("files quarantined", report.files_quarantined),
        ("rows read", report.rows_read),
        ("rows loaded", report.rows_loaded),
        ("duplicates skipped", report.duplicates_skipped),
        ("dropped: opted-out persons", report.suppressed_dropped),
        ("rows quarantined", report.rows_quarantined),
    ]
    for reason, count in report.quarantined_by_reason.items():
        rows.append((f"  quarantined: {reason}", count))
    for result in report.files:
        if result.status == "quarantined":
            rows.append((f"  file quarantined: {result.file_name} ({result.failure_reason})", 1))
    if report.catalog is not None:
        rows.append(("catalog rows upserted", report.catalog.rows_upserted))
        for reason, count in report.catalog.rejected_by_reason.items():
            rows.append((f"  catalog rows rejected: {reason}", count))
    for label, value in rows:
        table.add_row(label, f"{value:,}")
    table.add_row("seconds", f"{report.seconds:.2f}")
    table.add_row("rows/s", f"{report.rows_per_second:,.0f}")
    console.print(table)


def optout(
    ctx: typer.Context,
    file: Annotated[Path | None, typer.Argument(
        metavar="FILE", show_default=False,
        help="CSV with person_id, requested_at and optional kind (erasure or objection); the "
             "same as --optouts-csv.")] = None,
) -> None:
    """Apply opt-outs: suppress the persons and delete everything held about them.

    The summary is also written to <home>/reports/optout/latest.md; with PREFECT_API_URL set,
    the command runs as a Prefect flow run named optout-<date> of that server instead."""
    from rich.console import Console
    from rich.table import Table

    from flows.run import JobRunFailed, run_optout
    from warehouse.optout import OptoutError

    settings = job_settings(ctx, optouts_csv=_one_of(
        file, option_value(ctx, "optouts_csv"), "opt-out file", "--optouts-csv"))
    home = settings.norrut_home().ensure()
    if not settings.optouts_path().is_file():
        # Said before a run starts; the flow checks again for runs started from Prefect.
        raise fail(f"opt-out file {settings.optouts_path()} does not exist")
    try:
        with spinner("applying opt-outs"):
            report = run_optout(settings, quiet=True)
    except JobRunFailed as failed:
        raise run_failure(failed, home, (OptoutError,)) from None
    table = Table(title="Opt-outs applied")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("persons suppressed", f"{report.persons_requested:,}")
    table.add_row("  erasures", f"{report.erasures:,}")
    table.add_row("  objections", f"{report.objections:,}")
    for name, count in report.rows_removed.items():
        table.add_row(f"rows removed from {name}", f"{count:,}")
    for reason, count in report.rejected_by_reason.items():
        table.add_row(f"rows rejected: {reason}", f"{count:,}")
    table.add_row("earlier export files rewritten without them",
                  f"{len(report.export_files_rewritten):,}")
    table.add_row("earlier export files withdrawn", f"{len(report.export_files_withdrawn):,}")
    table.add_row("abandoned temporary export folders deleted",
                  f"{report.temp_export_folders_removed:,}")
    Console().print(table)
    for path in report.export_files_rewritten:
        typer.echo(f"rewritten: {home.exports_dir / path}")
    for path in report.export_files_withdrawn:
        typer.echo(f"withdrawn: {home.exports_dir / path}")
    if report.export_files_rewritten or report.export_files_withdrawn:
        typer.echo("A file already uploaded to an ad platform still holds them there: "
                   "upload the rewritten file again or remove them on the platform.")


def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as one JSON object "
                                                          "(keys in docs/status.md).")] = False,
) -> None:
    """Show what the warehouse holds: events, persons, files, quarantine, opt-outs."""
    import duckdb

    from core.engine import EngineConfigError
    from warehouse.db import WarehouseMissingError
    from warehouse.status import WarehouseNotSetUpError, is_writer_lock_conflict, warehouse_status

    home = home_of(ctx)
    try:
        state = warehouse_status(home.warehouse_path)
    except (WarehouseMissingError, WarehouseNotSetUpError, EngineConfigError) as error:
        raise fail(str(error)) from None
    except duckdb.IOException as error:
        if not is_writer_lock_conflict(error):
            first_line = str(error).strip().splitlines()[0]
            raise fail(f"cannot read the warehouse {home.warehouse_path}: {first_line}") from None
        # A writer holds the file (DuckDB lets no reader in meanwhile): say which run.
        raise fail(busy_message(home)) from None
    if as_json:
        typer.echo(json.dumps(state, indent=2, sort_keys=True))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Warehouse {home.warehouse_path}")
    table.add_column("key")
    table.add_column("value", justify="right")
    for key, value in state.items():
        if isinstance(value, dict):
            table.add_row(key, "\n".join(f"{k}: {_shown(v)}" for k, v in value.items()) or "none")
        else:
            table.add_row(key, _shown(value))
    Console().print(table)


def create_shards(
    ctx: typer.Context,
    count: Annotated[int, typer.Option(
        "--count", min=1, max=4096,
        help="Shards to split the events into, by person; fixed for good.")] = 16,
) -> None:
    """Make a new warehouse sharded, for a Dask cluster (docs/scale-out.md): each person's events
    go to one of COUNT shard files under <home>/shards."""
    from core.locking import WarehouseBusyError, warehouse_writer_lock
    from warehouse.shards import ShardLayoutError
    from warehouse.shards import create_shards as make_shards

    home = home_of(ctx).ensure()
    try:
        with warehouse_writer_lock(home.warehouse_path, home.locks_dir, run_name="shards create"):
            layout = make_shards(home.warehouse_path, count)
    except ShardLayoutError as error:
        raise fail(str(error)) from None
    except WarehouseBusyError:
        raise fail(busy_message(home)) from None
    typer.echo(f"The warehouse {home.warehouse_path} is sharded in {layout.shard_count} shards "
               f"under {layout.shards_dir}.")


def split_shards(
    ctx: typer.Context,
    count: Annotated[int, typer.Option(
        "--count", min=1, max=4096,
        help="Shards to move the events into, by person; fixed for good.")] = 16,
) -> None:
    """Move an existing single-machine warehouse to COUNT shards, for a Dask cluster
    (docs/scale-out.md): each person's events and features go to the person's shard file under
    <home>/shards; safe to run again if it was stopped."""
    from core.engine import configured_shard_runner, run_here
    from core.locking import WarehouseBusyError, warehouse_writer_lock
    from warehouse.shard_split import split_into_shards
    from warehouse.shards import ShardLayoutError

    home = home_of(ctx).ensure()
    try:
        # No wait: a writer at work means a job is running, and the split is for a quiet hour.
        with (warehouse_writer_lock(home.warehouse_path, home.locks_dir, run_name="shards split",
                                    wait_seconds=0),
              spinner(f"Moving the warehouse into {count} shards"),
              configured_shard_runner() as shard_runner):
            report = split_into_shards(home.warehouse_path, count, shard_runner or run_here)
    except ShardLayoutError as error:
        raise fail(str(error)) from None
    except WarehouseBusyError:
        raise fail(busy_message(home)) from None
    moved = ", ".join(f"{rows:,} rows of {table}" for table, rows in report.rows_moved.items())
    typer.echo(f"The warehouse {home.warehouse_path} is sharded in {report.shard_count} shards "
               f"under {report.shards_dir}: moved {moved}; the main file was compacted from "
               f"{report.compaction.bytes_before:,} to {report.compaction.bytes_after:,} bytes.")


def _shown(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the norrut app."""
    app.command("ingest", cls=JobCommand.for_settings(IngestSettings))(ingest)
    app.command("optout", cls=JobCommand.for_settings(OptoutSettings))(optout)
    app.command("status", cls=NorrutCommand)(status)
    shards = typer.Typer(cls=NorrutGroup, no_args_is_help=True,
                         help="A warehouse split by person into shards, for a Dask cluster.")
    shards.command("create", cls=NorrutCommand)(create_shards)
    shards.command("split", cls=NorrutCommand)(split_shards)
    app.add_typer(shards, name="shards")
