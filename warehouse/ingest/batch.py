"""One ingest batch: consecutive files read once, every row checked once, routed in one
transaction.

Each file is read in one statement, straight through the one check
(warehouse/sql/queries/check_events.sql) into ingest_checked, several files at once on
connections of their own; then one transaction writes the valid rows to raw.events, the bad ones
(with their reasons and line numbers) to raw.quarantine_rows and each file's record to
raw.ingest_files. A bad row costs its own check, never a second read of its file or batch. A
file that DuckDB's reader cannot read at all is quarantined whole; the others load.
"""

from __future__ import annotations

import csv
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import duckdb

from core.contract import EVENT_FIELDS
from warehouse.db import one_transaction
from warehouse.ingest.checks import contract_rule_params, shown_column_names
from warehouse.ingest.files import (
    HEADER_LINES,
    REFUSED_FOR_NAME,
    FileDigest,
    UnreadableHeader,
    content_refusal,
    csv_header,
    format_of,
    has_data_lines,
)
from warehouse.ingest.manifest import quarantine_file, record_file
from warehouse.ingest.reports import FileResult
from warehouse.sql_files import compose_insert, compose_with, read_sql, reader_path

# Raw control character that valid JSON text never contains, used as the "column" delimiter so
# each JSON line is read whole (read_batch_jsonl_lines.sql).
JSONL_DELIMITER = "\x1f"
# The in-memory database that holds a batch's checked rows (ingest_scratch) and its tables.
SCRATCH = "ingest_scratch"
_SCRATCH_TABLES = ("ingest_checked", "ingest_rejected_lines")
_STAGING_TABLES = ("ingest_line_offsets", "ingest_skipped")
# The reader's rejects tables quote whole input lines: each lives only until its lines are
# numbered (batch_rejected_lines.sql).
_REJECTS_TABLES = ("ingest_reject_errors", "ingest_reject_scans")
# What a reader raises on a file it cannot read; any other error (a binder error, say) is a
# fault of ours and stops the run rather than refuse every file.
_READER_ERRORS = (duckdb.IOException, duckdb.InvalidInputException, duckdb.ConversionException)


@dataclass(frozen=True)
class BatchFile:
    """A file to read in a batch, and the layout its reader needs."""

    path: Path
    file_name: str
    digest: FileDigest
    file_format: str
    # CSV and Parquet: the file's column names in order (a JSON line names its own keys)
    field_names: tuple[str, ...] = ()


def plan_file(con: duckdb.DuckDBPyConnection, path: Path, file_name: str,
              digest: FileDigest) -> FileResult | BatchFile:
    """The file as a member of the next batch, or its result when it is not read at all: loaded
    (or refused) before, of an unknown format, or refused whole (recorded now)."""
    started = time.perf_counter()
    file_format = format_of(path)
    seen = con.execute(
        "select status, failure_reason, file_format from raw.ingest_files where file_sha256 = ?",
        [digest.sha256]).fetchone()
    # Content refused only for its name (an unknown extension, or one that says another format
    # than the content is) is tried again under a name that says another format; its manifest
    # row is then replaced in the same transaction as the load.
    renamed_after_refusal = (
        seen is not None and seen[0] == "quarantined" and seen[1] in REFUSED_FOR_NAME
        and file_format is not None and file_format != seen[2])
    if seen and not renamed_after_refusal:
        return FileResult(file_name, digest.sha256, "already_loaded", file_format,
                          seconds=time.perf_counter() - started)
    if file_format is None:
        return quarantine_file(con, file_name, digest.sha256, "unknown", "unknown_extension",
                               started)
    refusal = "unreadable_file" if not digest.intact else content_refusal(digest.head,
                                                                          file_format)
    if refusal is not None:
        return quarantine_file(con, file_name, digest.sha256, file_format, refusal, started)
    try:
        if file_format == "csv":
            field_names = tuple(csv_header(path))
        elif file_format == "parquet":
            field_names = tuple(row[0] for row in con.execute(
                "describe select * from read_parquet(?)", [reader_path(path)]).fetchall())
        else:
            field_names = ()
    except (duckdb.Error, UnicodeDecodeError, csv.Error, UnreadableHeader):
        # The reader's message may quote the file's content, so only the reason is kept.
        return quarantine_file(con, file_name, digest.sha256, file_format, "unreadable_file",
                               started)
    return BatchFile(path, file_name, digest, file_format, field_names)


def load_batch(con: duckdb.DuckDBPyConnection, files: list[BatchFile],
               earliest_occurred_at: datetime, *, json_line_by_line: bool = False,
               events: EventStore | None = None) -> list[FileResult]:
    """Read and check every file of `files` once, then route its rows in one transaction with
    the files' records; returns each file's result, in order. `json_line_by_line` reads JSON
    lines with read_batch_jsonl_lines.sql only. `events` stores the valid rows: in `con`'s
    raw.events unless given (the shards of a sharded warehouse). The contract macros must be
    on `con`."""
    events = events or WAREHOUSE_EVENTS
    started = time.perf_counter()
    _drop_staging(con)
    check_params = contract_rule_params(earliest_occurred_at)
    try:
        with ingest_scratch(con):
            unreadable = _read_files(con, files, check_params,
                                     json_line_by_line=json_line_by_line)
            unreadable |= _csv_files_read_as_nothing(con, files)
            if unreadable:
                positions = sorted(unreadable)
                for table in _SCRATCH_TABLES:
                    con.execute(f"delete from {SCRATCH}.{table} "
                                "where list_contains(?, file_position)", [positions])
            with one_transaction(con):
                results = _route_rows(con, files, unreadable, started, events)
    finally:
        _drop_staging(con)
    return results


@contextmanager
def ingest_scratch(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """The batch's checked rows and rejected lines (create_ingest_checked.sql) in the in-memory
    database SCRATCH, attached for the block and gone after it."""
    con.execute(f"detach database if exists {SCRATCH}")
    con.execute(f"attach ':memory:' as {SCRATCH}")
    try:
        con.execute(read_sql("queries/create_ingest_checked.sql"))
        yield
    finally:
        con.execute(f"detach database if exists {SCRATCH}")


def _read_files(con: duckdb.DuckDBPyConnection, files: list[BatchFile],
                check_params: dict[str, object], *, json_line_by_line: bool) -> set[int]:
    """Read and check each file of the batch into ingest_checked, one statement a file, as many
    at once as DuckDB has threads, each on a connection of its own; returns the positions of
    the files no reader can read.

    A reader numbers its rows (the line numbers quarantine reports) WITH ORDINALITY, which DuckDB
    runs on one thread, and it runs the branches of a UNION ALL one after another: one statement
    over a format's files kept one core of two busy (measured by bench/ingest_stages.py).
    """
    members = list(enumerate(files, start=1))
    (threads,) = con.execute("select current_setting('threads')").fetchone()
    local = threading.local()
    readers: list[duckdb.DuckDBPyConnection] = []

    def reader_connection() -> duckdb.DuckDBPyConnection:
        if not hasattr(local, "con"):
            local.con = con.cursor()  # another connection to the same database
            readers.append(local.con)
            local.con.execute("set enable_progress_bar = false")
            local.con.execute(read_sql("queries/contract_macros.sql"))
        return local.con

    def read(member: tuple[int, BatchFile]) -> bool:
        return _read_file(reader_connection(), member, check_params,
                          json_line_by_line=json_line_by_line)

    pool = ThreadPoolExecutor(max_workers=max(1, min(int(threads), len(members))))
    try:
        with _order_not_kept(con):
            readable = list(pool.map(read, members))
    except BaseException:
        # (Ctrl-C, or a fault of ours in one file's statement) the files still running stop
        # now and those not started never start, rather than the rest of the batch being read
        for reader in readers:
            reader.interrupt()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        for reader in readers:
            reader.close()
    return {position for (position, _), ok in zip(members, readable, strict=True) if not ok}


def _read_file(con: duckdb.DuckDBPyConnection, member: tuple[int, BatchFile],
               check_params: dict[str, object], *, json_line_by_line: bool) -> bool:
    """Read and check one file into ingest_checked; False when no reader can read it."""
    position, file = member
    if file.file_format != "jsonl":
        return _read_and_check(con, file.file_format, member, check_params)
    if not json_line_by_line and _read_and_check(con, "jsonl", member, check_params):
        rows = con.execute(f"select count(*) from {SCRATCH}.ingest_checked "
                           "where file_position = ?", [position]).fetchone()[0]
        if rows == file.digest.lines:
            return True
    # DuckDB's JSON reader fails on a line that gives a key twice and passes over blank lines;
    # such a file is read line by line instead, so every row keeps its line number.
    con.execute(f"delete from {SCRATCH}.ingest_checked where file_position = ?", [position])
    return _read_and_check(con, "jsonl_lines", member, check_params)


def _read_and_check(con: duckdb.DuckDBPyConnection, reader: str, member: tuple[int, BatchFile],
                    check_params: dict[str, object]) -> bool:
    """One statement: the file's reader through check_events.sql into ingest_checked; then the
    lines the reader rejected. False when the reader fails (the statement wrote nothing)."""
    position, file = member
    query, params = reader_query(reader, position, file)
    for table in _REJECTS_TABLES:
        con.execute(f"drop table if exists temp.main.{table}")
    try:
        con.execute(compose_insert(f"{SCRATCH}.ingest_checked", "ingest_source", query,
                                   read_sql("queries/check_events.sql")),
                    params | check_params)
    except _READER_ERRORS:
        return False
    rejects_exist = con.execute(
        "select count(*) from duckdb_tables() where table_name = 'ingest_reject_errors'"
    ).fetchone()[0]
    if rejects_exist:
        con.execute(read_sql("queries/batch_rejected_lines.sql"), {
            "reader_paths": [reader_path(file.path)], "file_paths": [str(file.path)],
            "file_positions": [position]})
        for table in _REJECTS_TABLES:
            con.execute(f"drop table if exists temp.main.{table}")
    return True


def reader_query(reader: str, position: int, file: BatchFile) -> tuple[str, dict[str, object]]:
    """The query that reads one file for check_events.sql, and its parameters."""
    params: dict[str, object] = {"path": reader_path(file.path), "file_position": position}
    if reader == "jsonl":
        return read_sql("queries/read_batch_jsonl.sql"), params | {
            "contract_fields": list(EVENT_FIELDS)}
    if reader == "jsonl_lines":
        return read_sql("queries/read_batch_jsonl_lines.sql"), params | {
            "delimiter": JSONL_DELIMITER, "contract_fields": list(EVENT_FIELDS)}
    names = list(file.field_names)
    layout = {
        "field_names": names,
        # (a header names each column once: csv_header refuses one that repeats a name)
        "field_positions": [names.index(field) + 1 if field in names else 0
                            for field in EVENT_FIELDS],
        "file_position": position,
    }
    if reader == "csv":
        row_reader = read_sql("queries/read_batch_csv.sql")
        reader_params = {"path": params["path"], "columns": {
            f"c{column}": "VARCHAR" for column in range(1, len(names) + 1)}}
    else:
        row_reader = read_sql("queries/read_batch_parquet.sql")
        reader_params = {"path": params["path"]}
    return (compose_with("ingest_rows", row_reader, read_sql("queries/fields_by_position.sql")),
            reader_params | layout)


def _csv_files_read_as_nothing(con: duckdb.DuckDBPyConnection,
                               files: list[BatchFile]) -> set[int]:
    """CSV files with data lines that gave neither a row nor a rejected line: DuckDB's reader
    can take every row into one unterminated quoted field without a reject (quotes inside fields,
    as JSON has), and rows that yield nothing are not "loaded"."""
    candidates = [position for position, file in enumerate(files, start=1)
                  if file.file_format == "csv" and has_data_lines(file.digest.head)]
    if not candidates:
        return set()
    seen = {position for (position,) in con.execute(
        f"select distinct file_position from {SCRATCH}.ingest_checked where list_contains("
        f"$positions, file_position) union select distinct file_position from "
        f"{SCRATCH}.ingest_rejected_lines "
        "where list_contains($positions, file_position)", {"positions": candidates}).fetchall()}
    return set(candidates) - seen


def _route_rows(con: duckdb.DuckDBPyConnection, files: list[BatchFile], unreadable: set[int],
                started: float, events: EventStore) -> list[FileResult]:
    """Inside the batch's transaction: events, quarantined rows and every file's record."""
    now = datetime.now(UTC)
    file_sha256s = [file.digest.sha256 for file in files]
    header_lines = [HEADER_LINES[file.file_format] for file in files]
    con.execute(read_sql("queries/batch_line_offsets.sql"), {"header_lines": header_lines})
    counts = events.store(con, file_sha256s)
    con.execute(read_sql("queries/batch_insert_quarantine.sql"), {
        "file_sha256s": file_sha256s, "file_names": [file.file_name for file in files],
        "header_lines": header_lines, "quarantined_at": now})
    quarantined: dict[str, dict[str, int]] = {}
    for sha256, reason, rows in con.execute(
            "select file_sha256, reason, count(*) from raw.quarantine_rows "
            "where list_contains(?, file_sha256) group by all order by reason",
            [file_sha256s]).fetchall():
        quarantined.setdefault(sha256, {})[reason] = rows
    # A CSV or Parquet file names its columns once, in its header; a JSON line names its own.
    unknown = {position: [name for name in file.field_names if name not in EVENT_FIELDS]
               for position, file in enumerate(files, start=1)}
    for position, name in con.execute(read_sql("queries/batch_unknown_columns.sql"),
                                      {"contract_fields": list(EVENT_FIELDS)}).fetchall():
        unknown.setdefault(position, []).append(name)
    total_rows = sum(file.digest.lines for file in files) or 1
    seconds = time.perf_counter() - started
    results = []
    for position, file in enumerate(files, start=1):
        if position in unreadable:
            results.append(quarantine_file(con, file.file_name, file.digest.sha256,
                                           file.file_format, "unreadable_file", started))
            continue
        valid_rows, suppressed, duplicates = counts.get(position, (0, 0, 0))
        by_reason = quarantined.get(file.digest.sha256, {})
        rows_quarantined = sum(by_reason.values())
        result = FileResult(
            file.file_name, file.digest.sha256, "loaded", file.file_format,
            rows_read=valid_rows + rows_quarantined,
            rows_loaded=valid_rows - suppressed - duplicates,
            rows_quarantined=rows_quarantined, duplicates_skipped=duplicates,
            suppressed_dropped=suppressed,
            unknown_columns=tuple(shown_column_names(unknown.get(position, []))),
            quarantined_by_reason=by_reason,
            # the batch's time, shared by the files' lines
            seconds=seconds * file.digest.lines / total_rows,
        )
        record_file(con, result, now)
        results.append(result)
    return results


class EventStore(Protocol):
    """Where a batch's valid rows (ingest_checked) are stored, within the batch's transaction."""

    def store(self, con: duckdb.DuckDBPyConnection,
              file_sha256s: list[str]) -> dict[int, tuple[int, int, int]]:
        """Store the rows that are neither duplicates nor of an opted-out person; returns, by
        file position, (valid rows, dropped as suppressed, skipped as duplicates)."""
        ...


class _WarehouseEvents:
    """The batch's events in the same warehouse, in the batch's transaction."""

    def store(self, con: duckdb.DuckDBPyConnection,
              file_sha256s: list[str]) -> dict[int, tuple[int, int, int]]:
        return store_checked_events(con, file_sha256s)


WAREHOUSE_EVENTS: EventStore = _WarehouseEvents()


def store_checked_events(con: duckdb.DuckDBPyConnection,
                         file_sha256s: list[str]) -> dict[int, tuple[int, int, int]]:
    """ingest_checked's valid rows into `con`'s raw.events, less opted-out persons' rows and
    duplicates of stored or earlier event_ids; the counts by file position, as EventStore.store.
    The same on a single machine and on a shard (of the shard's rows)."""
    con.execute(read_sql("queries/batch_skipped_events.sql"))
    counts = {row[0]: tuple(row[1:]) for row in con.execute(
        read_sql("queries/batch_file_counts.sql")).fetchall()}
    with _order_not_kept(con):
        con.execute(read_sql("queries/batch_insert_events.sql"), {"file_sha256s": file_sha256s})
    return counts


@contextmanager
def _order_not_kept(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Inserts in the block may write rows in any order. Neither ingest_checked (keyed by file
    position and row number, which the readers number at the source) nor raw.events keeps an
    order, and an insert that need not keep one writes in parallel: measured 1.5M rows into
    raw.events 2.7 s -> 1.4 s, and 0.74M checked Parquet rows 3.0 s -> 2.3 s."""
    con.execute("set preserve_insertion_order = false")
    try:
        yield
    finally:
        con.execute("reset preserve_insertion_order")


def _drop_staging(con: duckdb.DuckDBPyConnection) -> None:
    for table in _STAGING_TABLES + _REJECTS_TABLES:
        con.execute(f"drop table if exists temp.main.{table}")
