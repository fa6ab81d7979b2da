"""Applying opt-outs (shared/CONTRACT.md §3): suppress the person and erase every row about them.

Both kinds delete everything held about the person from every table registered in
meta.person_tables (an objection leaves no profile either), and record sha256 of the canonical
person_id (core.contract.canonical_person_id: a MAID in any case is one person) in
raw.suppressed_persons so later events of that person are dropped at load. The raw id is never
stored. One transaction: a rerun or a crash leaves the same state as one clean run.

The flow (flows/optout.py) then rewrites earlier export files without the persons
(activation/export_rewrite.py) and the warehouse file itself (warehouse/compaction.py), so no
copy of a deleted row survives in any byte.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from core.contract import OPTOUT_KINDS
from core.engine import ShardRunner, run_here
from warehouse.compaction import compact_warehouse
from warehouse.db import one_transaction, open_warehouse
from warehouse.rejections import RejectedRows, rejected_rows, stage_checked_rows
from warehouse.shards import ShardLayout, layout_of
from warehouse.sql_files import read_sql, reader_path

_TABLE_NAME = re.compile(r"^([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)$")
_COLUMN_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class OptoutError(ValueError):
    """The opt-out file cannot be used at all (missing or unparseable)."""


@dataclass
class OptoutReport(RejectedRows):
    """What one opt-out run did; rejected rows carry their row number and reason only."""

    run_id: str
    persons_requested: int
    erasures: int
    objections: int
    rows_removed: dict[str, int]
    rejected: list[tuple[int, str]]
    # Set by the flow's later steps: earlier export files (paths under the exports folder)
    # rewritten without the persons or withdrawn, abandoned temporary export folders deleted,
    # and whether the warehouse file was rewritten so deleted rows left no bytes.
    export_files_rewritten: list[str] = field(default_factory=list)
    export_files_withdrawn: list[str] = field(default_factory=list)
    temp_export_folders_removed: int = 0
    warehouse_compacted: bool = False


def person_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """Registered (table, person column) pairs that are base tables in this warehouse.

    Views are left out: they derive from the tables and need no deleting.
    """
    registered = con.execute(
        "select table_name, person_column from meta.person_tables order by table_name").fetchall()
    base_tables = {f"{schema}.{name}" for schema, name in con.execute(
        "select schema_name, table_name from duckdb_tables() where not temporary").fetchall()}
    return [(table, column) for table, column in registered if table in base_tables]


def _quoted_person_table(table: str, column: str) -> tuple[str, str]:
    # Table and column names come from meta.person_tables; they are identifiers, so they are
    # checked against a strict pattern rather than bound.
    match = _TABLE_NAME.match(table)
    if match is None or not _COLUMN_NAME.match(column):
        raise ValueError(f"meta.person_tables holds an unusable name: {table}.{column}")
    schema, name = match.groups()
    return f'"{schema}"."{name}"', f'"{column}"'


def delete_person_rows(con: duckdb.DuckDBPyConnection, table: str, column: str) -> int:
    """Delete `table`'s rows of the persons in the temp table erased_persons (person_id)."""
    quoted_table, quoted_column = _quoted_person_table(table, column)
    # Matched in canonical form on both sides: erased_persons holds canonical ids, and a
    # warehouse older than canonical storage may hold a MAID in upper case.
    return con.execute(
        f"delete from {quoted_table} where norrut_canonical_person_id({quoted_column}) in "
        "(select person_id from erased_persons)"
    ).fetchone()[0]


def collect_suppressed_persons(con: duckdb.DuckDBPyConnection, table: str, column: str) -> None:
    """Add `table`'s persons whose key is in raw.suppressed_persons to erased_persons: each
    distinct person hashed once, not each row."""
    quoted_table, quoted_column = _quoted_person_table(table, column)
    con.execute(
        "insert into erased_persons select person_id from ("
        f"select distinct norrut_canonical_person_id({quoted_column}) as person_id "
        f"from {quoted_table}) where sha256(person_id) in "
        "(select person_key from raw.suppressed_persons) "
        "and person_id not in (select person_id from erased_persons)")


def apply_optouts(warehouse_path: str | os.PathLike[str],
                  optouts_csv: str | os.PathLike[str], *,
                  shard_runner: ShardRunner | None = None) -> OptoutReport:
    """Suppress and erase every valid person in the CSV; bad rows are reported, not stored.
    A sharded warehouse then erases them in every shard, each shard's task run by
    `shard_runner` (a Dask cluster's), else here one after another."""
    optouts_csv = Path(optouts_csv)
    if not optouts_csv.is_file():
        raise OptoutError(f"opt-out file {optouts_csv} does not exist")
    run_id = str(uuid.uuid4())
    applied_at = datetime.now(UTC)
    with open_warehouse(warehouse_path) as con:
        con.execute(read_sql("queries/contract_macros.sql"))
        stage_checked_rows(con, "optout", read_sql("queries/read_table_csv.sql"),
                           read_sql("queries/validate_optouts.sql"),
                           {"path": reader_path(optouts_csv), "kinds": list(OPTOUT_KINDS)},
                           f"opt-out file {optouts_csv.name}", OptoutError)
        try:
            report = _apply_checked(con, run_id, applied_at, optouts_csv.name)
        finally:
            con.execute("drop table if exists temp.main.optout_checked")
        layout = layout_of(con, warehouse_path)
        if layout is not None:
            report.rows_removed = _erase_in_shards(con, layout, run_id,
                                                   shard_runner or run_here,
                                                   report.rows_removed)
    return report


@dataclass(frozen=True)
class ShardErasure:
    """A shard's task of an opt-out run: paths, never a connection."""

    shard_path: str
    suppressed_path: str


def _erase_in_shards(con: duckdb.DuckDBPyConnection, layout: ShardLayout, run_id: str,
                     shard_runner: ShardRunner, rows_removed: dict[str, int]) -> dict[str, int]:
    """After the main warehouse committed the suppression list: every suppressed person's rows
    erased in every shard, and the run's audit row given the shards' counts. Each shard erases
    every person on the list, not only this run's, so a run killed before its shards finished
    is completed by the next opt-out run."""
    staging = layout.shards_dir / "staging" / f"optout-{run_id}"
    staging.mkdir(parents=True, exist_ok=True)
    try:
        suppressed_path = staging / "suppressed_persons.parquet"
        con.sql("select * from raw.suppressed_persons").to_parquet(str(suppressed_path))
        tasks = [ShardErasure(str(path), str(suppressed_path)) for path in layout.shard_paths()]
        totals = dict(rows_removed)
        for shard_removed in shard_runner(erase_suppressed_in_shard, tasks):
            for table, rows in shard_removed.items():
                totals[table] = totals.get(table, 0) + rows
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    con.execute("update audit.optout_runs set rows_removed = ? where run_id = ?",
                [json.dumps(totals), run_id])
    return totals


def erase_suppressed_in_shard(task: ShardErasure) -> dict[str, int]:
    """A shard's task: its copy of the suppression list brought up to date and every listed
    person's rows deleted, in one transaction; then the shard file rewritten so the deleted rows
    leave no bytes (warehouse/compaction.py). Rows deleted, by table."""
    with open_warehouse(task.shard_path) as con:
        con.execute(read_sql("queries/contract_macros.sql"))
        con.execute("create or replace temp table erased_persons (person_id varchar)")
        try:
            with one_transaction(con):
                con.execute(read_sql("queries/shard_suppressed_persons.sql"),
                            {"path": task.suppressed_path})
                tables = person_tables(con)
                for table, column in tables:
                    collect_suppressed_persons(con, table, column)
                removed = {table: delete_person_rows(con, table, column)
                           for table, column in tables}
        finally:
            con.execute("drop table if exists temp.main.erased_persons")
    compact_warehouse(task.shard_path)
    return removed


def _apply_checked(con: duckdb.DuckDBPyConnection, run_id: str, applied_at: datetime,
                   file_name: str) -> OptoutReport:
    rejected = rejected_rows(con, "optout_checked")
    persons, erasures, objections = con.execute(
        "select count(*), count(*) filter (where kind = 'erasure'), "
        "count(*) filter (where kind = 'objection') from ("
        "select person_key, case when bool_or(kind = 'erasure') then 'erasure' "
        "else 'objection' end as kind from optout_checked where reason is null group by person_key)"
    ).fetchone()
    con.execute("create or replace temp table erased_persons as "
                "select distinct person_id from optout_checked where reason is null")
    try:
        with one_transaction(con):
            con.execute(read_sql("queries/upsert_suppressed_persons.sql"),
                        {"applied_at": applied_at})
            rows_removed = {table: delete_person_rows(con, table, column)
                            for table, column in person_tables(con)}
            con.execute(
                "insert into audit.optout_runs values (?, ?, ?, ?, ?, ?, ?, ?)",
                [run_id, file_name, applied_at, persons, erasures, objections,
                 json.dumps(rows_removed), len(rejected)],
            )
    finally:
        con.execute("drop table if exists temp.main.erased_persons")
    return OptoutReport(run_id, persons, erasures, objections, rows_removed, rejected)
