"""One ingest run: every file of the inbox, in name order, by the direct or line-checked path."""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path

import duckdb

from core.contract import stored_file_name
from warehouse.catalog import load_catalog
from warehouse.db import open_warehouse
from warehouse.ingest.direct import DirectCandidate, direct_candidate, load_direct_batch
from warehouse.ingest.files import digest_files, list_event_files
from warehouse.ingest.line_checked import ingest_file
from warehouse.ingest.reports import (
    FileResult,
    IngestReport,
    ProgressCallback,
    StrictIngestError,
)
from warehouse.settings import DEFAULT_EARLIEST_OCCURRED_AT, IngestSettings
from warehouse.sql_files import read_sql

# WAL size at which a commit also checkpoints during ingestion (see ingest_inbox).
_CHECKPOINT_THRESHOLD = "1GB"
# A direct-load batch ends at this many files or bytes: a batch commits as one transaction, and
# a bad row anywhere in it sends all its files back to be loaded one by one.
_BATCH_MAX_FILES = 64
_BATCH_MAX_BYTES = 1 << 30


def ingest_inbox(
    warehouse_path: str | os.PathLike[str],
    inbox: str | os.PathLike[str],
    catalog: str | os.PathLike[str] | None = None,
    *,
    strict: bool = False,
    progress: ProgressCallback | None = None,
    direct_load: bool = True,
    earliest_occurred_at: datetime = DEFAULT_EARLIEST_OCCURRED_AT,
) -> IngestReport:
    """Load every event file of `inbox` not loaded before, and upsert the content catalog.

    With `strict`, raise StrictIngestError (carrying the report) after the run if anything
    was quarantined; everything valid is loaded either way. `direct_load=False` checks every
    file line by line, one by one (see ingest_file). An event before `earliest_occurred_at` is
    quarantined as bad_occurred_at.
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
        if catalog is not None:
            catalog_report = load_catalog(con, Path(catalog))
        results = _ingest_files(con, inbox, files, direct_load=direct_load, progress=progress,
                                earliest_occurred_at=earliest_occurred_at)
        con.execute("checkpoint")
    report = IngestReport(results, catalog_report, time.perf_counter() - started)
    if strict and report.anything_quarantined:
        raise StrictIngestError(report)
    return report


def ingest(settings: IngestSettings, *, progress: ProgressCallback | None = None) -> IngestReport:
    """ingest_inbox as the ingest job's settings say: its home's warehouse, its inbox (the
    home's by default), catalog, strictness and earliest plausible event time."""
    return ingest_inbox(settings.norrut_home().warehouse_path, settings.inbox_path(),
                        settings.catalog, strict=settings.strict, progress=progress,
                        earliest_occurred_at=settings.earliest_occurred_at)


def _ingest_files(con: duckdb.DuckDBPyConnection, inbox: Path, files: list[Path], *,
                  direct_load: bool, progress: ProgressCallback | None,
                  earliest_occurred_at: datetime) -> list[FileResult]:
    """Every file in name order: runs of consecutive direct-load candidates as batches (see
    load_direct_batch), any other file on its own (ingest_file); `direct_load=False` sends
    every file to ingest_file.

    Only consecutive files share a batch, so when two files carry the same event_id the earlier
    name keeps it, as when every file loads on its own.
    """
    results: list[FileResult] = []
    batch: list[DirectCandidate] = []

    def record(result: FileResult) -> None:
        results.append(result)
        if progress is not None:
            progress(result, len(results), len(files))

    def load_batch() -> None:
        loaded = load_direct_batch(con, batch, earliest_occurred_at) if batch else []
        if loaded is None:
            # Some file of the batch needs the line-checked path: each file on its own, tried
            # directly again unless it was alone.
            for candidate in batch:
                alone = (load_direct_batch(con, [candidate], earliest_occurred_at)
                         if len(batch) > 1 else None)
                record(alone[0] if alone else ingest_file(
                    con, candidate.path, candidate.file_name, candidate.digest,
                    earliest_occurred_at=earliest_occurred_at))
        else:
            for result in loaded:
                record(result)
        batch.clear()

    for path, digest in zip(files, digest_files(files), strict=True):
        # A name that looks personal is never stored, reported or logged (CONTRACT §1).
        file_name = stored_file_name(path.relative_to(inbox).as_posix(), digest.sha256)
        candidate = (direct_candidate(con, path, file_name, digest, batch)
                     if direct_load else None)
        if candidate is None:
            load_batch()
            record(ingest_file(con, path, file_name, digest,
                               earliest_occurred_at=earliest_occurred_at))
            continue
        batch_bytes = sum(member.size for member in batch)
        if batch and (len(batch) >= _BATCH_MAX_FILES
                      or batch_bytes + candidate.size > _BATCH_MAX_BYTES):
            load_batch()
        batch.append(candidate)
    load_batch()
    return results
