"""One ingest run: every file of the inbox, in name order, in batches of consecutive files."""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path

import duckdb

from core.contract import stored_file_name
from core.engine import SCHEDULER_ENV_VAR, ShardRunner, given_or_configured, run_here
from warehouse.catalog import load_catalog
from warehouse.db import open_warehouse
from warehouse.ingest.batch import WAREHOUSE_EVENTS, BatchFile, EventStore, load_batch, plan_file
from warehouse.ingest.files import digest_files, list_event_files
from warehouse.ingest.reports import (
    FileResult,
    IngestReport,
    ProgressCallback,
    StrictIngestError,
)
from warehouse.settings import DEFAULT_EARLIEST_OCCURRED_AT, IngestSettings
from warehouse.shards import ShardLayoutError, layout_of
from warehouse.sql_files import read_sql

# WAL size at which a commit also checkpoints during ingestion (see ingest_inbox).
_CHECKPOINT_THRESHOLD = "1GB"
# A batch ends at this many files or lines: a batch commits as one transaction, and its checked
# rows wait in memory (or DuckDB's spill files) until then.
BATCH_MAX_FILES = 64
_BATCH_MAX_LINES = 8_000_000


def ingest_inbox(
    warehouse_path: str | os.PathLike[str],
    inbox: str | os.PathLike[str],
    catalog: str | os.PathLike[str] | None = None,
    *,
    strict: bool = False,
    progress: ProgressCallback | None = None,
    batch_max_files: int = BATCH_MAX_FILES,
    json_line_by_line: bool = False,
    earliest_occurred_at: datetime = DEFAULT_EARLIEST_OCCURRED_AT,
    shard_runner: ShardRunner | None = None,
) -> IngestReport:
    """Load every event file of `inbox` not loaded before, and upsert the content catalog.

    With `strict`, raise StrictIngestError (carrying the report) after the run if anything
    was quarantined; everything valid is loaded either way. `batch_max_files=1` loads each file
    in a transaction of its own, and `json_line_by_line` reads JSON lines as text, line by line,
    rather than by DuckDB's JSON reader: the same result, more slowly (tests compare the
    two). An event before `earliest_occurred_at` is
    quarantined as bad_occurred_at. A sharded warehouse stores its events in its shards, each
    shard's task run by `shard_runner` (a Dask cluster's), else here one after another.
    """
    started = time.perf_counter()
    files = list_event_files(inbox)
    inbox = Path(inbox)
    catalog_report = None
    with open_warehouse(warehouse_path) as con:
        # DuckDB's own bar would interleave with the caller's progress display.
        con.execute("set enable_progress_bar = false")
        # Each file or batch commits on its own (a killed run keeps whole files), but a file of
        # ~100k rows writes ~16 MiB of WAL, DuckDB's default checkpoint threshold, so every
        # commit also checkpointed, rewriting the table's last, partly filled row group each
        # time. With a larger threshold the commits only append to the WAL and the run
        # checkpoints once at the end (measured: commit + checkpoint CPU ~1.4 s -> ~1.0 s for 4
        # files, 335k rows). Durability is the same: a committed file is in the WAL, replayed on
        # the next open.
        con.execute(f"set checkpoint_threshold = '{_CHECKPOINT_THRESHOLD}'")
        con.execute(read_sql("queries/contract_macros.sql"))
        events = _event_store(con, warehouse_path, shard_runner)
        if catalog is not None:
            catalog_report = load_catalog(con, Path(catalog))
        results = _ingest_files(con, inbox, files, batch_max_files=batch_max_files,
                                json_line_by_line=json_line_by_line, progress=progress,
                                earliest_occurred_at=earliest_occurred_at, events=events)
        con.execute("checkpoint")
    report = IngestReport(results, catalog_report, time.perf_counter() - started)
    if strict and report.anything_quarantined:
        raise StrictIngestError(report)
    return report


def _event_store(con: duckdb.DuckDBPyConnection, warehouse_path: str | os.PathLike[str],
                 shard_runner: ShardRunner | None) -> EventStore:
    layout = layout_of(con, warehouse_path)
    if layout is None:
        if shard_runner is not None:
            raise ShardLayoutError(
                f"{SCHEDULER_ENV_VAR} names a Dask cluster, but the warehouse {warehouse_path} "
                "is not sharded: make a new one with `norrut shards create`, or unset "
                f"{SCHEDULER_ENV_VAR} to run on this machine alone")
        return WAREHOUSE_EVENTS
    # imported here: the single-machine path never needs it
    from warehouse.ingest.sharded import ShardedEvents

    return ShardedEvents(layout, shard_runner or run_here)


def ingest(settings: IngestSettings, *, progress: ProgressCallback | None = None,
           shard_runner: ShardRunner | None = None) -> IngestReport:
    """ingest_inbox as the ingest job's settings say: its home's warehouse, its inbox (the
    home's by default), catalog, strictness and earliest plausible event time; the shards'
    tasks run by `shard_runner` when given, else on the Dask cluster $NORRUT_DASK_SCHEDULER
    names, if any."""
    options = {"strict": settings.strict, "progress": progress,
               "earliest_occurred_at": settings.earliest_occurred_at}
    with given_or_configured(shard_runner) as runner:
        return ingest_inbox(settings.norrut_home().warehouse_path, settings.inbox_path(),
                            settings.catalog, shard_runner=runner, **options)


def _ingest_files(con: duckdb.DuckDBPyConnection, inbox: Path, files: list[Path], *,
                  batch_max_files: int, json_line_by_line: bool,
                  progress: ProgressCallback | None,
                  earliest_occurred_at: datetime, events: EventStore) -> list[FileResult]:
    """Every file in name order: runs of consecutive readable files as batches (load_batch),
    each file that is not read (loaded before, refused whole) on its own.

    Only consecutive files share a batch, and a batch keeps the first copy of an event_id by
    file name, then line, so when two files carry the same event_id the earlier name keeps it,
    as when every file loads on its own.
    """
    results: list[FileResult] = []
    batch: list[BatchFile] = []

    def record(result: FileResult) -> None:
        results.append(result)
        if progress is not None:
            progress(result, len(results), len(files))

    def flush() -> None:
        if batch:
            for result in load_batch(con, batch, earliest_occurred_at,
                                     json_line_by_line=json_line_by_line, events=events):
                record(result)
        batch.clear()

    for path, digest in zip(files, digest_files(files), strict=True):
        # A name that looks personal is never stored, reported or logged (CONTRACT §1).
        file_name = stored_file_name(path.relative_to(inbox).as_posix(), digest.sha256)
        if any(member.digest.sha256 == digest.sha256 for member in batch):
            # the same content as a file of the batch: known once the batch is in
            flush()
        planned = plan_file(con, path, file_name, digest)
        if isinstance(planned, FileResult):
            flush()
            record(planned)
            continue
        batch_lines = sum(member.digest.lines for member in batch)
        if batch and (len(batch) >= batch_max_files
                      or batch_lines + planned.digest.lines > _BATCH_MAX_LINES):
            flush()
        batch.append(planned)
    flush()
    return results
