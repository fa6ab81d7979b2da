"""CLI commands for the warehouse: `norrut ingest`, `norrut optout`, `norrut status`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from norrut.cli.context import home_of

BUSY = "the warehouse is in use by another norrut process (one writer at a time); try again"


def _fail(message: str) -> typer.Exit:
    """Print a one-line error (no traceback) and give the exit to raise."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=2)


def _busy_message(home) -> str:
    """BUSY, naming the run that holds the warehouse when it recorded itself."""
    from core.locking import lock_path_for, read_holder

    holder = read_holder(lock_path_for(home.warehouse_path, home.locks_dir))
    if holder is None:
        return BUSY
    return (f"the warehouse is in use by {holder.describe()} (one writer at a time); "
            "try again when it finishes")


def _flow_failure(failed, home, user_errors: tuple[type[BaseException], ...]) -> typer.Exit:
    """One line for a failed flow run: the user's mistake as it was raised, a busy warehouse
    naming its holder, anything else as the run's own error."""
    import duckdb

    from core.locking import WarehouseBusyError

    cause = failed.__cause__
    if isinstance(cause, duckdb.IOException):
        return _fail(_busy_message(home))
    if isinstance(cause, (WarehouseBusyError, *user_errors)):
        return _fail(str(cause))
    return _fail(f"the flow run failed: {failed}")


LOCK_WAIT_HELP = "How long to wait for another run to release the warehouse."


def ingest(
    ctx: typer.Context,
    inbox: Annotated[Path, typer.Argument(help="Folder of event files (.jsonl/.ndjson/.csv, "
                                                "optionally .gz, and .parquet).")],
    catalog: Annotated[Path | None, typer.Option(
        "--catalog", help="Content catalog file (.csv, .json/.jsonl or .parquet) to upsert first.",
    )] = None,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Exit with status 1 when any file or row was quarantined "
                         "(everything valid is still loaded).",
    )] = False,
    lock_wait_seconds: Annotated[float, typer.Option(
        "--lock-wait-seconds", min=0, help=LOCK_WAIT_HELP)] = 600.0,
    earliest_occurred_at: Annotated[datetime | None, typer.Option(
        "--earliest-occurred-at", help="Quarantine events before this UTC time as "
        "bad_occurred_at (implausible: no campaign ran then) [default: 2020-01-01].",
    )] = None,
) -> None:
    """Load every event file of INBOX not loaded before; bad rows go to quarantine.

    Runs as a Prefect flow run named ingest-<date>, so it shows up in the Prefect UI."""
    from rich.console import Console

    from flows.run import FlowRunFailed, run_ingest
    from flows.settings import IngestSettings
    from warehouse.catalog import CatalogError
    from warehouse.ingest import InboxError, StrictIngestError, list_event_files

    home = home_of(ctx).ensure()
    console = Console()
    try:
        total = len(list_event_files(inbox))
    except InboxError as error:
        raise _fail(str(error)) from None
    if catalog is not None and not catalog.is_file():
        raise _fail(f"catalog {catalog} does not exist")
    plausibility = ({} if earliest_occurred_at is None
                    else {"earliest_occurred_at": earliest_occurred_at.replace(tzinfo=UTC)})
    settings = IngestSettings(
        home=str(home.root), inbox=str(inbox.resolve()),
        catalog=str(catalog.resolve()) if catalog else None, strict=strict,
        lock_wait_seconds=lock_wait_seconds, **plausibility)
    failed_strict = False
    try:
        with console.status(f"ingest: loading {total} file(s) in a Prefect flow run"):
            report = run_ingest(settings, quiet=True)
    except FlowRunFailed as failed:
        if not isinstance(failed.__cause__, StrictIngestError):
            raise _flow_failure(failed, home, (InboxError, CatalogError)) from None
        report, failed_strict = failed.__cause__.report, True
    _print_ingest_summary(console, report)
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
        ("  directly (clean: read once, in batches)",
         sum(result.load_path == "direct" for result in report.files)),
        ("  line-checked (a bad row or an unusual layout)",
         sum(result.load_path == "line_checked" for result in report.files)),
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
    file: Annotated[Path, typer.Argument(help="CSV with person_id, requested_at and optional kind "
                                              "(erasure or objection).")],
    lock_wait_seconds: Annotated[float, typer.Option(
        "--lock-wait-seconds", min=0, help=LOCK_WAIT_HELP)] = 600.0,
) -> None:
    """Apply opt-outs: suppress the persons and delete everything held about them.

    Runs as a Prefect flow run named optout-<date>, so it shows up in the Prefect UI."""
    from rich.console import Console
    from rich.table import Table

    from flows.run import FlowRunFailed, run_optout
    from flows.settings import OptoutSettings
    from warehouse.optout import OptoutError

    home = home_of(ctx).ensure()
    if not file.is_file():
        # Said before a run starts; the flow checks again for runs started from Prefect.
        raise _fail(f"opt-out file {file} does not exist")
    settings = OptoutSettings(home=str(home.root), optouts_csv=str(file.resolve()),
                              lock_wait_seconds=lock_wait_seconds)
    try:
        with Console().status("applying opt-outs in a Prefect flow run"):
            report = run_optout(settings, quiet=True)
    except FlowRunFailed as failed:
        raise _flow_failure(failed, home, (OptoutError,)) from None
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

    from warehouse.db import WarehouseMissingError
    from warehouse.status import WarehouseNotSetUpError, is_writer_lock_conflict, warehouse_status

    home = home_of(ctx)
    try:
        state = warehouse_status(home.warehouse_path)
    except (WarehouseMissingError, WarehouseNotSetUpError) as error:
        raise _fail(str(error)) from None
    except duckdb.IOException as error:
        if not is_writer_lock_conflict(error):
            first_line = str(error).strip().splitlines()[0]
            raise _fail(f"cannot read the warehouse {home.warehouse_path}: {first_line}") from None
        # A writer holds the file (DuckDB lets no reader in meanwhile): say which run.
        raise _fail(_busy_message(home)) from None
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


def _shown(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the norrut app."""
    app.command("ingest")(ingest)
    app.command("optout")(optout)
    app.command("status")(status)
