"""The warehouse's state in numbers, for `norrut status` (keys documented in docs/status.md)."""

from __future__ import annotations

import os
from datetime import UTC
from typing import Any

from warehouse.db import open_warehouse
from warehouse.migrations import current_version
from warehouse.sql_files import read_sql


def warehouse_status(warehouse_path: str | os.PathLike[str]) -> dict[str, Any]:
    """Counts and time range of what has been loaded; opens the warehouse read-only."""
    with open_warehouse(warehouse_path, read_only=True) as con:
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
    for key in ("first_event_at", "last_event_at"):
        if status[key] is not None:
            status[key] = status[key].isoformat() + "Z"  # stored in UTC
    if status["last_ingest_at"] is not None:
        status["last_ingest_at"] = status["last_ingest_at"].astimezone(UTC).isoformat().replace(
            "+00:00", "Z")
    return status
