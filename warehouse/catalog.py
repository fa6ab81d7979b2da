"""Loading the content catalog (shared/CONTRACT.md §2) into raw.content_catalog."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from core.contract import CONTENT_KINDS
from warehouse.rejections import RejectedRows
from warehouse.sql_files import compose_query, read_sql, reader_path


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
    try:
        con.execute(compose_query("catalog_source", _source_query(path),
                                  read_sql("queries/validate_catalog.sql"), "catalog_checked"),
                    {"path": reader_path(path), "kinds": list(CONTENT_KINDS)})
    except duckdb.Error as error:
        # Only the kind of failure: the reader's message may quote the file's content.
        raise CatalogError(f"catalog {path.name} cannot be parsed "
                           f"({type(error).__name__})") from None
    try:
        rows_read = con.execute("select count(*) from catalog_checked").fetchone()[0]
        rejected = con.execute(
            "select source_row_number, reason from catalog_checked where reason is not null "
            "order by source_row_number").fetchall()
        con.execute("begin transaction")
        try:
            upserted = con.execute(read_sql("queries/upsert_catalog.sql"),
                                   {"loaded_at": datetime.now(UTC)}).fetchone()[0]
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    finally:
        con.execute("drop table if exists temp.main.catalog_checked")
    return CatalogReport(path.name, rows_read, upserted, [(int(n), r) for n, r in rejected])
