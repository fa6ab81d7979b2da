"""Versioned schema migrations: a warehouse made by an older Norrut upgrades in place when opened.

Tables are created by the migration that introduced them and altered by later ones, so a fresh
warehouse and an upgraded one pass through exactly the same steps. Views are recreated on every
writer open from warehouse/sql/{staging,marts}, so they always match the code.
"""

from __future__ import annotations

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
