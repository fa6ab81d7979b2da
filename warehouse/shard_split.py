"""Moving a single-machine warehouse into shards (`norrut shards split`, docs/scale-out.md).

Each person's rows of the tables a sharded warehouse keeps per shard (PER_SHARD_TABLES: what
ingest and the feature build write to shard files) go to shard_of(person_id, N); the main file
keeps the rest, as a warehouse sharded from the start does (the manifest, the quarantine, the
catalog, the opt-out list, the audit, the feature builds' log). Each shard also gets its copy
of the opt-out list and of the content catalog, as ingest and the feature build give it.

Kill-safe: the shard files are built first, while the main file is still a single machine's
(nothing reads <home>/shards before a layout is recorded, and a rerun removes what a killed
split left there); then one transaction of the main file records the layout and deletes the
moved rows. The main file is compacted last, so no moved row stays in its bytes.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from core.engine import ShardRunner, run_here
from warehouse.compaction import CompactionReport, compact_warehouse
from warehouse.db import one_transaction, open_warehouse
from warehouse.shards import (
    MAX_SHARD_COUNT,
    ShardLayout,
    ShardLayoutError,
    layout_of,
    shards_dir_of,
)
from warehouse.sql_files import read_sql
from warehouse.staging import shard_staging

# The tables whose rows live in their person's shard, each with its person column.
PER_SHARD_TABLES = {"raw.events": "person_id", "features.person_features": "person_id"}


@dataclass(frozen=True)
class SplitTable:
    """One per-shard table as the main file holds it: its DDL and columns, and a shard's rows
    as Parquet files (none for a shard without rows)."""

    name: str
    ddl: str
    columns: tuple[str, ...]
    part_paths: tuple[str, ...]


@dataclass(frozen=True)
class ShardSplit:
    """A shard's task of a split: paths, never a connection."""

    shard_path: str
    tables: tuple[SplitTable, ...]
    suppressed_path: str
    catalog_path: str


@dataclass(frozen=True)
class SplitReport:
    shard_count: int
    shards_dir: Path
    rows_moved: dict[str, int]
    compaction: CompactionReport


def split_into_shards(warehouse_path: str | os.PathLike[str], shard_count: int,
                      shard_runner: ShardRunner = run_here) -> SplitReport:
    """Move the single-machine warehouse's per-person rows into `shard_count` shards, each
    shard's task run by `shard_runner`. ShardLayoutError when it is sharded already. The caller
    holds the writer lock."""
    if not 1 <= shard_count <= MAX_SHARD_COUNT:
        raise ShardLayoutError(f"a shard count must be 1 to {MAX_SHARD_COUNT}, not {shard_count}")
    layout = ShardLayout(shard_count, shards_dir_of(warehouse_path))
    with open_warehouse(warehouse_path) as con:
        existing = layout_of(con, warehouse_path)
        if existing is not None:
            raise ShardLayoutError(
                f"the warehouse {warehouse_path} is sharded already, in {existing.shard_count} "
                "shards; a shard count never changes, so that every person keeps its shard")
        # Not recorded in a layout, so nothing reads them: a killed split's shard files.
        shutil.rmtree(layout.shards_dir, ignore_errors=True)
        with shard_staging(layout, "split") as staging:
            tasks = _write_shard_parts(con, layout, staging)
            moved = _sum_by_table(shard_runner(load_shard_split, tasks))
            expected = {table: con.execute(f"select count(*) from {table}").fetchone()[0]
                        for table in PER_SHARD_TABLES}
            if moved != expected:
                raise RuntimeError(f"the shards hold {moved} rows, the warehouse {expected}; "
                                   "the warehouse is unchanged, run the split again")
            with one_transaction(con):
                con.execute("insert into meta.shard_layout values (?, ?)",
                            [shard_count, datetime.now(UTC)])
                for table in PER_SHARD_TABLES:
                    con.execute(f"delete from {table}")
    return SplitReport(shard_count, layout.shards_dir, moved, compact_warehouse(warehouse_path))


def _write_shard_parts(con: duckdb.DuckDBPyConnection, layout: ShardLayout,
                       staging: Path) -> list[ShardSplit]:
    """Every per-shard table's rows split by shard into Parquet under `staging`, and the opt-out
    list and catalog beside them; one task per shard."""
    con.execute(read_sql("queries/shard_macros.sql"))
    parts: dict[str, dict[int, tuple[str, ...]]] = {}
    described: dict[str, tuple[str, tuple[str, ...]]] = {}
    for table, person_column in PER_SHARD_TABLES.items():
        folder = staging / table
        # a COPY streams; a relation with bound parameters would be run, and held, first
        con.execute(f"copy (select *, norrut_shard_of({person_column}, $shard_count) "
                    f"as norrut_shard from {table}) to $folder "
                    "(format parquet, partition_by (norrut_shard))",
                    {"shard_count": layout.shard_count, "folder": str(folder)})
        parts[table] = {
            int(shard.name.removeprefix("norrut_shard=")):
                tuple(str(path) for path in sorted(shard.glob("*.parquet")))
            for shard in (folder.iterdir() if folder.exists() else [])}
        schema, name = table.split(".")
        ddl = con.execute("select sql from duckdb_tables() where schema_name = ? "
                          "and table_name = ?", [schema, name]).fetchone()[0]
        columns = tuple(row[0] for row in con.execute(f"describe {table}").fetchall())
        described[table] = ddl, columns
    suppressed_path = staging / "suppressed_persons.parquet"
    con.sql("select * from raw.suppressed_persons").to_parquet(str(suppressed_path))
    catalog_path = staging / "content_catalog.parquet"
    con.sql("select * from raw.content_catalog").to_parquet(str(catalog_path))
    return [ShardSplit(str(layout.shard_path(shard)),
                       tuple(SplitTable(table, *described[table], parts[table].get(shard, ()))
                             for table in PER_SHARD_TABLES),
                       str(suppressed_path), str(catalog_path))
            for shard in range(layout.shard_count)]


def load_shard_split(task: ShardSplit) -> dict[str, int]:
    """A shard's task: its file made afresh with its persons' rows, its opt-out list and its
    catalog, in one transaction; the rows stored, by table."""
    Path(task.shard_path).unlink(missing_ok=True)
    Path(f"{task.shard_path}.wal").unlink(missing_ok=True)
    with open_warehouse(task.shard_path) as con, one_transaction(con):
        stored = {}
        for table in task.tables:
            columns = tuple(row[0] for row in con.execute(f"describe {table.name}").fetchall())
            if columns != table.columns:
                # the main file's feature table follows the feature set it was last built with
                con.execute(f"drop table {table.name}")
                con.execute(table.ddl)
            if table.part_paths:
                con.execute(f"insert into {table.name} by name "
                            "select * from read_parquet($paths, hive_partitioning = false)",
                            {"paths": list(table.part_paths)})
            stored[table.name] = con.execute(f"select count(*) from {table.name}").fetchone()[0]
        con.execute(read_sql("queries/shard_suppressed_persons.sql"),
                    {"path": task.suppressed_path})
        con.execute(read_sql("queries/shard_content_catalog.sql"), {"path": task.catalog_path})
    return stored


def _sum_by_table(counts: list[dict[str, int]]) -> dict[str, int]:
    totals = dict.fromkeys(PER_SHARD_TABLES, 0)
    for shard_counts in counts:
        for table, rows in shard_counts.items():
            totals[table] += rows
    return totals
