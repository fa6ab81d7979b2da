"""Versioned schema migrations: a warehouse made by an older Norrut upgrades in place when opened.

Tables are created by the migration that introduced them and altered by later ones, so a fresh
warehouse and an upgraded one pass through exactly the same steps. Views are recreated on every
writer open from warehouse/sql/{staging,marts}, so they always match the code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb

from warehouse.sql_files import SQL_ROOT, read_sql

SCHEMAS = ("meta", "raw", "audit", "staging", "features", "marts")
VIEW_FOLDERS = ("staging", "marts")


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    files: tuple[str, ...]
    # table name -> column holding the person id, for erasure (contract §3)
    person_tables: dict[str, str] = field(default_factory=dict)
    # run after the files, in the same transaction, for what depends on the warehouse's
    # contents (tables registered at run time)
    step: Callable[[duckdb.DuckDBPyConnection], None] | None = None


# A schema-qualified table name and a column name as meta.person_tables holds them; checked
# before they are written into a statement (identifiers cannot be bound).
_TABLE_NAME = re.compile(r"^([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)$")
_COLUMN_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def _drop_recased_person_rows(con: duckdb.DuckDBPyConnection) -> None:
    """Schema v6, after migrations/0006_canonical_person_ids.sql: every derived person table
    (features, labels, scores, holdouts) loses its rows of a person whose id was not canonical
    or whose canonical id collides with one that was not, so the next build makes them again
    from the canonical events."""
    derived = [(table, column) for table, column in con.execute(
        "select table_name, person_column from meta.person_tables "
        "where table_name <> 'raw.events' and table_name in ("
        "select schema_name || '.' || table_name from duckdb_tables() where not temporary) "
        "order by table_name").fetchall()]
    quoted = []
    for table, column in derived:
        match = _TABLE_NAME.match(table)
        if match is None or not _COLUMN_NAME.match(column):
            raise ValueError(f"meta.person_tables holds an unusable name: {table}.{column}")
        quoted.append((f'"{match.group(1)}"."{match.group(2)}"', f'"{column}"'))
    # first every table's non-canonical persons, so a collision in any table reaches all
    for table, column in quoted:
        con.execute(f"insert into migration_recased_persons "
                    f"select distinct norrut_canonical_person_id({column}) from {table} "
                    f"where {column} <> norrut_canonical_person_id({column})")
    for table, column in quoted:
        con.execute(f"delete from {table} where norrut_canonical_person_id({column}) in "
                    "(select person_id from migration_recased_persons)")
    con.execute("drop table temp.main.migration_recased_persons")


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "raw events, file manifest, quarantine and content catalog",
        ("meta/person_tables.sql", "raw/ingest_files.sql", "raw/events.sql",
         "raw/quarantine_rows.sql", "raw/content_catalog.sql"),
        {"raw.events": "person_id"},
    ),
    Migration(
        2,
        "opt-outs: suppression list, audit of opt-out runs, dropped-event counts",
        ("raw/suppressed_persons.sql", "audit/optout_runs.sql",
         "migrations/0002_ingest_files_suppressed.sql"),
    ),
    Migration(
        3,
        "point-in-time person features and the log of feature builds",
        ("features/person_features.sql", "features/feature_builds.sql"),
        {"features.person_features": "person_id"},
    ),
    Migration(
        4,
        "scores and segments: person scores, scoring runs, ranked view, segment holdouts",
        ("activation/person_scores.sql", "activation/scores_runs.sql",
         "activation/scores_ranked.sql", "activation/segment_holdouts.sql"),
        {"marts.person_scores": "person_id", "marts.segment_holdouts": "person_id"},
    ),
    Migration(
        5,
        "raw events without their line numbers, so clean files load on every core",
        ("migrations/0005_events_without_row_number.sql",),
    ),
    Migration(
        6,
        "every person_id in its canonical form (a MAID lower-cased); derived rows of re-cased "
        "persons dropped, to be rebuilt",
        ("queries/contract_macros.sql", "migrations/0006_canonical_person_ids.sql"),
        step=_drop_recased_person_rows,
    ),
    Migration(
        7,
        "audit of the earlier export files each opt-out run rewrote or withdrew",
        ("audit/optout_export_files.sql",),
    ),
    Migration(
        8,
        "model health: backtests of matured scoring runs per decile, feature and score drift, "
        "and one row of health per scoring run (aggregates only, no person)",
        ("monitoring/backtest_deciles.sql", "monitoring/feature_drift.sql",
         "monitoring/model_health_runs.sql"),
    ),
    Migration(
        9,
        "delta uploads: identifiers of opted-out persons awaiting the next remove file of each "
        "segment and destination they were sent to (not a person table: erasure writes it)",
        ("activation/pending_removals.sql",),
    ),
    Migration(
        10,
        "the creative report (norrut creatives): aggregates per content item, theme and "
        "campaign, and how each report was made; no person ids",
        ("insight/creative_report.sql", "insight/creative_report_runs.sql"),
    ),
    Migration(
        11,
        "shards: the layout of a sharded warehouse and each shard's stored files",
        ("meta/shard_layout.sql", "raw/shard_files.sql"),
    ),
)

LATEST_VERSION = max(m.version for m in MIGRATIONS)


class WarehouseTooNewError(RuntimeError):
    """The warehouse was written by a newer Norrut than this one."""


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'meta' and table_name = 'schema_version'"
    ).fetchone()[0]
    if not exists:
        return 0
    return con.execute("select coalesce(max(version), 0) from meta.schema_version").fetchone()[0]


def migrate(con: duckdb.DuckDBPyConnection, target: int = LATEST_VERSION) -> tuple[int, int]:
    """Apply pending migrations up to `target`, each in its own transaction."""
    for schema in SCHEMAS:
        con.execute(f"create schema if not exists {schema}")
    con.execute(read_sql("meta/schema_version.sql"))
    start = current_version(con)
    if start > LATEST_VERSION:
        raise WarehouseTooNewError(
            f"warehouse schema v{start} is newer than this Norrut (v{LATEST_VERSION}); upgrade Norrut"
        )
    for migration in sorted(MIGRATIONS, key=lambda m: m.version):
        if start < migration.version <= target:
            _apply(con, migration)
    # Views are written against the latest tables; a warehouse held at an older target
    # (tests building a previous version) gets them when it is brought up to date.
    if current_version(con) == LATEST_VERSION:
        refresh_views(con)
    return start, current_version(con)


def _apply(con: duckdb.DuckDBPyConnection, migration: Migration) -> None:
    con.execute("begin transaction")
    try:
        for relative_path in migration.files:
            con.execute(read_sql(relative_path))
        if migration.step is not None:
            migration.step(con)
        for table_name, person_column in migration.person_tables.items():
            register_person_table(con, table_name, person_column,
                                  f"registered by schema v{migration.version}")
        con.execute(
            "insert into meta.schema_version (version, description) values (?, ?)",
            [migration.version, migration.description],
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def register_person_table(con: duckdb.DuckDBPyConnection, table_name: str, person_column: str,
                          description: str) -> None:
    """Declare that `table_name` holds data about persons, so erasure reaches it."""
    con.execute(
        "insert or replace into meta.person_tables values (?, ?, ?)",
        [table_name, person_column, description],
    )


def refresh_views(con: duckdb.DuckDBPyConnection) -> None:
    """Recreate every view; files sort by name, so a view may depend on an earlier-named one."""
    for folder in VIEW_FOLDERS:
        for path in sorted((SQL_ROOT / folder).glob("*.sql")):
            con.execute(read_sql(f"{folder}/{path.name}"))
