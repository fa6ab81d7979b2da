"""The warehouse's state in numbers, for `norrut status` (keys documented in docs/status.md)."""

from __future__ import annotations

import os
from datetime import UTC
from typing import Any

import duckdb

from core.engine import configured_engine
from warehouse.db import open_warehouse
from warehouse.migrations import LATEST_VERSION, current_version
from warehouse.shards import ShardLayout, layout_of
from warehouse.sql_files import read_sql


class WarehouseNotSetUpError(RuntimeError):
    """The warehouse file exists but holds fewer migrations than this Norrut needs: a first run
    stopped before it had created the tables, or an older Norrut wrote it."""


def warehouse_status(warehouse_path: str | os.PathLike[str]) -> dict[str, Any]:
    """Counts and time range of what has been loaded; opens the warehouse read-only."""
    with open_warehouse(warehouse_path, read_only=True) as con:
        check_set_up(con, warehouse_path)
        totals = con.execute(read_sql("queries/status_totals.sql")).fetchone()
        names = [column[0] for column in con.description]
        status: dict[str, Any] = dict(zip(names, totals, strict=True))
        status["rows_quarantined"] = dict(con.execute(
            "select reason, count(*) from raw.quarantine_rows group by reason order by reason"
        ).fetchall())
        status["files_quarantined_by_reason"] = dict(con.execute(
            "select failure_reason, count(*) from raw.ingest_files where status = 'quarantined' "
            "group by failure_reason order by failure_reason").fetchall())
        status["unknown_columns"] = dict(con.execute(
            "select file_name, unknown_columns from raw.ingest_files "
            "where unknown_column_count > 0 order by file_name").fetchall())
        status["schema_version"] = current_version(con)
        layout = layout_of(con, warehouse_path)
        if layout is None:
            status |= _event_totals([con.execute(read_sql("queries/status_events.sql")).fetchone()])
    status["engine"] = configured_engine().describe()
    status["shard_count"] = 0 if layout is None else layout.shard_count
    if layout is not None:
        status |= _shard_event_totals(layout)
    for key in ("first_event_at", "last_event_at"):
        if status[key] is not None:
            status[key] = status[key].isoformat() + "Z"  # stored in UTC
    if status["last_ingest_at"] is not None:
        status["last_ingest_at"] = status["last_ingest_at"].astimezone(UTC).isoformat().replace(
            "+00:00", "Z")
    return status


def _shard_event_totals(layout: ShardLayout) -> dict[str, Any]:
    totals = []
    for path in layout.shard_paths():
        with open_warehouse(path, read_only=True) as con:
            totals.append(con.execute(read_sql("queries/status_events.sql")).fetchone())
    return _event_totals(totals)


def _event_totals(rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    """status_events.sql's rows (one per shard, or the warehouse's) as one set of totals."""
    firsts = [row[2] for row in rows if row[2] is not None]
    lasts = [row[3] for row in rows if row[3] is not None]
    return {"events": sum(row[0] for row in rows), "persons": sum(row[1] for row in rows),
            "first_event_at": min(firsts, default=None), "last_event_at": max(lasts, default=None)}


def check_set_up(con: duckdb.DuckDBPyConnection, warehouse_path: str | os.PathLike[str]) -> None:
    """Raise WarehouseNotSetUpError unless every migration is applied: a reader cannot migrate,
    and its queries would fail on a missing schema."""
    version = current_version(con)
    if version < LATEST_VERSION:
        raise WarehouseNotSetUpError(
            f"the warehouse {warehouse_path} is not fully set up (schema version {version}, "
            f"this Norrut needs {LATEST_VERSION}: a first run stopped early, or an older Norrut "
            "wrote it); run `norrut ingest INBOX` (any command that writes sets it up)")


def is_writer_lock_conflict(error: duckdb.IOException) -> bool:
    """Whether a reader was refused because a writer holds the file (DuckDB's other IO errors,
    such as a file that is not a database, are not that)."""
    return "could not set lock" in str(error).lower()
