"""Loading the content catalog (shared/CONTRACT.md §2) into raw.content_catalog."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from core.contract import CONTENT_KINDS
from warehouse.db import one_transaction
from warehouse.rejections import RejectedRows, rejected_rows, stage_checked_rows
from warehouse.sql_files import read_sql, reader_path


class CatalogError(ValueError):
    """The catalog file cannot be used at all (missing, unknown format, unparseable)."""


@dataclass
class CatalogReport(RejectedRows):
    """What one catalog load did; rejected rows carry their row number and reason only."""

    file_name: str
    rows_read: int
    rows_upserted: int
    rejected: list[tuple[int, str]]


def _source_query(path: Path) -> str:
    """SQL giving one JSON object per catalog row, whatever the file format ($path bound)."""
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        return read_sql("queries/read_table_csv.sql")
    if name.endswith((".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz")):
        return read_sql("queries/read_table_json.sql")
    if name.endswith(".parquet"):
        return read_sql("queries/read_table_parquet.sql")
    raise CatalogError(f"catalog {path.name}: unknown format (use .csv, .json, .jsonl or .parquet)")


def load_catalog(con: duckdb.DuckDBPyConnection, path: Path) -> CatalogReport:
    """Check and upsert the catalog in one transaction; the contract macros must be on `con`."""
    if not path.is_file():
        raise CatalogError(f"catalog {path} does not exist")
    stage_checked_rows(con, "catalog", _source_query(path), read_sql("queries/validate_catalog.sql"),
                       {"path": reader_path(path), "kinds": list(CONTENT_KINDS)},
                       f"catalog {path.name}", CatalogError)
    try:
        rows_read = con.execute("select count(*) from catalog_checked").fetchone()[0]
        rejected = rejected_rows(con, "catalog_checked")
        with one_transaction(con):
            upserted = con.execute(read_sql("queries/upsert_catalog.sql"),
                                   {"loaded_at": datetime.now(UTC)}).fetchone()[0]
    finally:
        con.execute("drop table if exists temp.main.catalog_checked")
    return CatalogReport(path.name, rows_read, upserted, rejected)
