"""The direct load: a batch of clean files read once by DuckDB's readers, written once.

Consecutive files (in name order) are read together straight into raw.events through one check
per row (warehouse/sql/queries/direct_events.sql), and one transaction writes their events and
their raw.ingest_files records. Any bad row, unknown column or unusual layout rolls the batch
back, and its files are loaded one by one instead (see loading.py).
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from core.contract import EVENT_FIELDS
from warehouse.db import one_transaction
from warehouse.ingest.checks import contract_rule_params
from warehouse.ingest.files import (
    HEADER_LINES,
    FileDigest,
    UnreadableHeader,
    content_refusal,
    csv_header,
    format_of,
    names_allow_direct_load,
)
from warehouse.ingest.manifest import record_file
from warehouse.ingest.reports import FileResult
from warehouse.sql_files import (
    compose_insert,
    read_sql,
    reader_path,
    suffixed_parameters,
    union_of,
)


class _NeedsLineCheck(Exception):
    """A direct load found something only the line-checked path handles."""


@dataclass(frozen=True)
class DirectCandidate:
    """A file that may take the direct load, and how its reader reads it."""

    path: Path
    file_name: str
    digest: FileDigest
    file_format: str
    reader_file: str  # queries/direct_read_<format>.sql
    # The reader's parameters other than $paths and $file_sha256s; files whose parameters are
    # equal share one reader.
    read_params: tuple[tuple[str, object], ...]
    expected_rows: int
    size: int


def direct_candidate(con: duckdb.DuckDBPyConnection, path: Path, file_name: str,
                     digest: FileDigest, batch: list[DirectCandidate]) -> DirectCandidate | None:
    """The file as a direct-load candidate; None when it must be handled on its own: unknown or
    unreadable, loaded (or refused) before, the same content as a file of `batch`, empty, or a
    layout only the line-checked path handles."""
    file_format = format_of(path)
    if file_format is None or not digest.intact or content_refusal(digest.head, file_format):
        return None
    if any(member.digest.sha256 == digest.sha256 for member in batch):
        return None
    seen = con.execute("select 1 from raw.ingest_files where file_sha256 = ?",
                       [digest.sha256]).fetchone()
    if seen:
        return None
    if file_format == "jsonl":
        # Keys are checked line by line in the reader; any key outside the contract sends the
        # file to the line-checked path, which lists unknown columns.
        read_params: dict[str, object] = {"contract_fields": list(EVENT_FIELDS)}
        rows = digest.lines
    elif file_format == "csv":
        try:
            names = csv_header(path)
        except (UnreadableHeader, UnicodeDecodeError, csv.Error):
            return None
        read_params = {"columns": {name: "VARCHAR" for name in names}}
        rows = digest.lines - HEADER_LINES["csv"]
    else:
        try:
            names = [row[0] for row in con.execute(
                "describe select * from read_parquet(?)", [reader_path(path)]).fetchall()]
            # from the file's footer, without reading its rows
            rows = con.execute("select count(*) from read_parquet(?)",
                               [reader_path(path)]).fetchone()[0]
        except duckdb.Error:
            return None
        read_params = {}
    if file_format != "jsonl" and not names_allow_direct_load(names):
        return None
    if rows < 1:
        return None
    return DirectCandidate(
        path, file_name, digest, file_format, f"queries/direct_read_{file_format}.sql",
        tuple((key, _frozen(value)) for key, value in read_params.items()), rows,
        path.stat().st_size)


def _frozen(value: object) -> object:
    """A reader parameter in a form that can be compared and hashed (dicts keep their order)."""
    if isinstance(value, dict):
        return tuple(value.items())
    if isinstance(value, list):
        return tuple(value)
    return value


def _thawed(read_params: tuple[tuple[str, object], ...]) -> dict[str, object]:
    thawed: dict[str, object] = {}
    for key, value in read_params:
        if key == "columns":
            thawed[key] = dict(value)  # type: ignore[arg-type]
        elif isinstance(value, tuple):
            thawed[key] = list(value)
        else:
            thawed[key] = value
    return thawed


def load_direct_batch(con: duckdb.DuckDBPyConnection, batch: list[DirectCandidate],
                      earliest_occurred_at: datetime) -> list[FileResult] | None:
    """Load clean files straight into raw.events, in one transaction with their raw.ingest_files
    records; None (and nothing written) when any row or file needs the line-checked path.

    Files of one format and layout share one reader, and the readers of one format run in one
    statement, so DuckDB reads those files side by side; the rules that depend on file order
    (duplicates, suppression) are applied after every format's rows are in, as if the files had
    loaded one by one in the batch's order (queries/direct_skipped_events.sql).
    """
    started = time.perf_counter()
    readers: dict[tuple[str, tuple[tuple[str, object], ...]], list[DirectCandidate]] = {}
    for candidate in batch:
        readers.setdefault((candidate.reader_file, candidate.read_params), []).append(candidate)
    file_sha256s = [candidate.digest.sha256 for candidate in batch]
    try:
        with one_transaction(con):
            # One statement per format, whose readers run side by side (a UNION ALL of one
            # reader per layout), so DuckDB reads every file of that format at once.
            for file_format in ("csv", "jsonl", "parquet"):
                format_readers = [(reader_file, read_params, members)
                                  for (reader_file, read_params), members in readers.items()
                                  if members[0].file_format == file_format]
                if format_readers:
                    _insert_direct(con, file_format, format_readers, earliest_occurred_at)
            rows_read = dict(con.execute(read_sql("queries/direct_batch_files.sql"),
                                         {"file_sha256s": file_sha256s}).fetchall())
            # A reader that skipped a line (a blank one, say) would hide it from the quarantine.
            for candidate in batch:
                if rows_read.get(candidate.digest.sha256, 0) != candidate.expected_rows:
                    raise _NeedsLineCheck(f"{candidate.file_name}: rows and lines differ")
            skipped = _skip_direct_duplicates(con, file_sha256s)
            results = _direct_results(con, batch, rows_read, skipped,
                                      time.perf_counter() - started)
    except (duckdb.Error, _NeedsLineCheck):
        # Rolled back. The reader's message may quote the file's content: it is not kept.
        return None
    finally:
        # set by _insert_direct; settings outlive the transaction
        con.execute("reset preserve_insertion_order")
    return results


def _skip_direct_duplicates(con: duckdb.DuckDBPyConnection,
                            file_sha256s: list[str]) -> dict[str, tuple[int, int, int]]:
    """Delete the batch's events that an earlier file (or the warehouse) already holds, or whose
    person is suppressed; returns (duplicates, suppressed, repeated in file) by file_sha256."""
    con.execute("create or replace temp table ingest_direct_skipped as "
                + read_sql("queries/direct_skipped_events.sql"),
                {"file_sha256s": file_sha256s})
    skipped = {sha: (duplicates, suppressed, repeated) for sha, duplicates, suppressed, repeated
               in con.execute(
                   "select file_sha256, count(*) filter (where not is_suppressed), "
                   "count(*) filter (where is_suppressed), "
                   "count(*) filter (where is_repeated_in_file) "
                   "from ingest_direct_skipped group by file_sha256").fetchall()}
    # Which of two copies in one file stays is decided by line order, which only the
    # line-checked path knows.
    if any(repeated for _, _, repeated in skipped.values()):
        raise _NeedsLineCheck("event ids repeated within a file")
    if skipped:
        con.execute(read_sql("queries/delete_direct_skipped.sql"))
    con.execute("drop table temp.main.ingest_direct_skipped")
    return skipped


def _direct_results(con: duckdb.DuckDBPyConnection, batch: list[DirectCandidate],
                    rows_read: dict[str, int], skipped: dict[str, tuple[int, int, int]],
                    seconds: float) -> list[FileResult]:
    """Each file's result, recorded in raw.ingest_files; the batch's time is shared by rows."""
    total_rows = sum(rows_read.values())
    ingested_at = datetime.now(UTC)
    results = []
    for candidate in batch:
        file_rows = rows_read[candidate.digest.sha256]
        duplicates, suppressed, _ = skipped.get(candidate.digest.sha256, (0, 0, 0))
        result = FileResult(
            candidate.file_name, candidate.digest.sha256, "loaded", candidate.file_format,
            rows_read=file_rows, rows_loaded=file_rows - duplicates - suppressed,
            duplicates_skipped=duplicates, suppressed_dropped=suppressed,
            seconds=seconds * file_rows / total_rows, load_path="direct",
        )
        record_file(con, result, ingested_at)
        results.append(result)
    return results


def _insert_direct(con: duckdb.DuckDBPyConnection, file_format: str,
                   readers: list[tuple[str, tuple[tuple[str, object], ...],
                                       list[DirectCandidate]]],
                   earliest_occurred_at: datetime) -> None:
    """One INSERT into raw.events of every file of one format of a batch, checked row by row
    (queries/direct_events.sql)."""
    reader_params: dict[str, object] = {}
    for position, (_, read_params, members) in enumerate(readers, start=1):
        reader_params |= suffixed_parameters(
            _thawed(read_params)
            | {"paths": [reader_path(member.path) for member in members],
               "file_paths": [str(member.path) for member in members],
               "file_sha256s": [member.digest.sha256 for member in members]},
            position)
    # raw.events has no order (rows are not numbered). Measured on DuckDB 1.5 with 1.3M rows:
    # letting go of file order writes Parquet rows as they come (load 2.2 s -> 1.2 s, no merge
    # at the checkpoint), but leaves CSV rows to be written at the checkpoint (+1 s); JSON lines
    # are the same either way. So only Parquet lets it go.
    con.execute("set preserve_insertion_order = ?", [file_format != "parquet"])
    con.execute(
        compose_insert("raw.events", "direct_source",
                       union_of([read_sql(reader_file) for reader_file, _, _ in readers]),
                       read_sql("queries/direct_events.sql")),
        reader_params | contract_rule_params(earliest_occurred_at),
    )
