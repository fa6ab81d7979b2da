"""The line-checked load: one file on its own, every line checked, each bad row quarantined.

Its rows stream into a temp table of checked rows (warehouse/sql/queries/validate_events.sql),
then one transaction writes its events, its quarantined rows and its raw.ingest_files record.
"""

from __future__ import annotations

import csv
import time
from datetime import UTC, datetime
from pathlib import Path

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
from warehouse.settings import DEFAULT_EARLIEST_OCCURRED_AT
from warehouse.sql_files import compose_query, read_sql, reader_path

# Raw control character that valid JSON text never contains, used as the "column" delimiter so
# each JSON line is read whole.
JSONL_DELIMITER = "\x1f"


def ingest_file(con: duckdb.DuckDBPyConnection, path: Path, file_name: str,
                digest: FileDigest, *,
                earliest_occurred_at: datetime = DEFAULT_EARLIEST_OCCURRED_AT) -> FileResult:
    """One file on its own, in one transaction, through the line-checked path (which
    quarantines each bad row with its reason), unless it was loaded before or cannot be read at
    all; the contract macros must already be on `con`. `digest` is the file's digest_file."""
    started = time.perf_counter()
    file_sha256 = digest.sha256
    file_format = format_of(path)
    seen = con.execute(
        "select status, failure_reason, file_format from raw.ingest_files where file_sha256 = ?",
        [file_sha256]).fetchone()
    # Content refused only for its name (an unknown extension, or one that says another format
    # than the content is) is tried again under a name that says another format; its manifest
    # row is then replaced in the same transaction as the load.
    renamed_after_refusal = (
        seen is not None and seen[0] == "quarantined" and seen[1] in REFUSED_FOR_NAME
        and file_format is not None and file_format != seen[2])
    if seen and not renamed_after_refusal:
        return FileResult(file_name, file_sha256, "already_loaded", file_format,
                          seconds=time.perf_counter() - started)
    if file_format is None:
        return quarantine_file(con, file_name, file_sha256, "unknown", "unknown_extension", started)
    if not digest.intact:
        return quarantine_file(con, file_name, file_sha256, file_format, "unreadable_file", started)
    refusal = content_refusal(digest.head, file_format)
    if refusal is not None:
        return quarantine_file(con, file_name, file_sha256, file_format, refusal, started)
    try:
        unknown_columns = _stage_checked_rows(con, path, file_format, earliest_occurred_at)
    except (duckdb.Error, UnicodeDecodeError, csv.Error, UnreadableHeader):
        # The reader's message may quote the file's content, so only the reason is kept.
        return quarantine_file(con, file_name, file_sha256, file_format, "unreadable_file", started)
    if file_format == "csv" and has_data_lines(digest.head) and _staged_nothing(con):
        # DuckDB's CSV reader can take every row into one unterminated quoted field without a
        # reject (quotes inside fields, as JSON has): rows that yield nothing are not "loaded".
        _drop_staging(con)
        return quarantine_file(con, file_name, file_sha256, file_format, "unreadable_file", started)
    try:
        return _load_checked_rows(con, file_name, file_sha256, file_format, unknown_columns,
                                  started)
    finally:
        _drop_staging(con)


def _staged_nothing(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the staged file gave neither a row nor a rejected line."""
    return con.execute("select (select count(*) from ingest_checked) "
                       "+ (select count(*) from ingest_rejected_lines) = 0").fetchone()[0]


def _stage_checked_rows(con: duckdb.DuckDBPyConnection, path: Path, file_format: str,
                        earliest_occurred_at: datetime) -> list[str]:
    """Read and check the file into temp table ingest_checked; returns its unknown columns."""
    _drop_staging(con)
    if file_format == "jsonl":
        read_params: dict[str, object] = {"path": reader_path(path),
                                          "delimiter": JSONL_DELIMITER}
    elif file_format == "csv":
        names = csv_header(path)
        read_params = {
            "path": reader_path(path),
            "columns": {f"c{position}": "VARCHAR" for position in range(1, len(names) + 1)},
            "field_names": names,
        }
    else:
        names = [row[0] for row in con.execute(
            "describe select * from read_parquet(?)", [reader_path(path)]).fetchall()]
        read_params = {"path": reader_path(path), "field_names": names}
    # One statement, so the file streams from reader through validation into the temp table.
    con.execute(
        compose_query("ingest_source", read_sql(f"queries/read_{file_format}.sql"),
                 read_sql("queries/validate_events.sql"), "ingest_checked"),
        read_params | contract_rule_params(earliest_occurred_at)
        | {"contract_fields": list(EVENT_FIELDS)},
    )
    rejects_exist = con.execute(
        "select count(*) from duckdb_tables() where table_name = 'ingest_reject_errors'"
    ).fetchone()[0]
    if rejects_exist:
        con.execute("create or replace temp table ingest_rejected_lines as "
                    "select distinct line from ingest_reject_errors")
    else:
        con.execute("create or replace temp table ingest_rejected_lines (line bigint)")
    if con.execute("select count(*) from ingest_rejected_lines").fetchone()[0]:
        con.execute(read_sql("queries/line_offsets.sql"),
                    {"header_lines": HEADER_LINES[file_format]})
        con.execute(read_sql("queries/renumber_after_rejects.sql"))
    # In order of first appearance, as the file itself lists them.
    unknown = con.execute(read_sql("queries/unknown_columns.sql"),
                          {"contract_fields": list(EVENT_FIELDS)}).fetchall()
    return [name for (name,) in unknown]


def _load_checked_rows(con: duckdb.DuckDBPyConnection, file_name: str, file_sha256: str,
                       file_format: str, unknown_columns: list[str], started: float) -> FileResult:
    """The staged file's events, quarantined rows and manifest row, in one transaction."""
    header_lines = HEADER_LINES[file_format]
    now = datetime.now(UTC)
    with one_transaction(con):
        valid_rows, suppressed = con.execute(read_sql("queries/count_valid_rows.sql")).fetchone()
        rows_loaded = con.execute(read_sql("queries/insert_events.sql"),
                                  {"file_sha256": file_sha256}
                                  ).fetchone()[0]
        con.execute(read_sql("queries/insert_quarantine.sql"),
                    {"file_sha256": file_sha256, "file_name": file_name,
                     "header_lines": header_lines, "quarantined_at": now})
        by_reason = dict(con.execute(
            "select reason, count(*) from raw.quarantine_rows where file_sha256 = ? "
            "group by reason order by reason", [file_sha256]).fetchall())
        rows_quarantined = sum(by_reason.values())
        duplicates = valid_rows - suppressed - rows_loaded
        result = FileResult(
            file_name, file_sha256, "loaded", file_format,
            rows_read=valid_rows + rows_quarantined, rows_loaded=rows_loaded,
            rows_quarantined=rows_quarantined, duplicates_skipped=duplicates,
            suppressed_dropped=suppressed,
            unknown_columns=tuple(shown_column_names(unknown_columns)),
            quarantined_by_reason=by_reason, load_path="line_checked",
        )
        result.seconds = time.perf_counter() - started
        record_file(con, result, now)
    return result


def _drop_staging(con: duckdb.DuckDBPyConnection) -> None:
    # The reader's rejects table quotes whole input lines; it must not outlive its file.
    for table in ("ingest_checked", "ingest_rejected_lines", "ingest_line_offsets",
                  "ingest_reject_errors", "ingest_reject_scans"):
        con.execute(f"drop table if exists temp.main.{table}")
