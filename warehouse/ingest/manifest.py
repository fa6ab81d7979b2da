"""raw.ingest_files, the manifest: one row per file content seen, loaded or refused."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import duckdb

from warehouse.ingest.reports import FileResult
from warehouse.sql_files import read_sql


def record_file(con: duckdb.DuckDBPyConnection, result: FileResult,
                ingested_at: datetime) -> None:
    """The file's row in raw.ingest_files; a loaded file's goes in its load's transaction."""
    con.execute(
        read_sql("queries/insert_ingest_file.sql"),
        {"file_sha256": result.file_sha256, "file_name": result.file_name,
         "file_format": result.file_format, "status": result.status,
         "rows_read": result.rows_read, "rows_loaded": result.rows_loaded,
         "rows_quarantined": result.rows_quarantined,
         "duplicates_skipped": result.duplicates_skipped,
         "suppressed_dropped": result.suppressed_dropped,
         "unknown_columns": list(result.unknown_columns), "failure_reason": result.failure_reason,
         "seconds": result.seconds, "ingested_at": ingested_at},
    )


def quarantine_file(con: duckdb.DuckDBPyConnection, file_name: str, file_sha256: str,
                    file_format: str, reason: str, started: float) -> FileResult:
    """Record the whole file as refused for `reason`; none of its rows is loaded."""
    result = FileResult(file_name, file_sha256, "quarantined", file_format,
                        failure_reason=reason, seconds=time.perf_counter() - started)
    record_file(con, result, datetime.now(UTC))
    return result
