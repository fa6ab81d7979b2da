"""Build the point-in-time person features for one as-of date, and read them back."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
from pydantic import BaseModel, ConfigDict

from features.catalog import DESCRIPTIVE_COLUMNS, FEATURE_NAMES, FEATURE_SET_VERSION, KEY_COLUMNS
from warehouse.db import open_warehouse
from warehouse.migrations import register_person_table
from warehouse.sql_files import read_sql

# Built in this order (file, whether it binds $as_of); each table is replaced by the next build
# and holds only its latest as_of.
BUILD_STEPS = (
    ("features/person_eligible.sql", False),
    ("features/person_history.sql", True),
    ("features/person_engagement_90d.sql", True),
    ("features/person_themes_90d.sql", True),
)
INTERMEDIATE_TABLES = (
    "features.person_eligible", "features.person_history", "features.person_engagement_90d",
    "features.person_themes_90d",
)
FEATURE_TABLE_COLUMNS = (*KEY_COLUMNS, *DESCRIPTIVE_COLUMNS, *FEATURE_NAMES)


class FeatureSettings(BaseModel):
    """How a feature build runs; the feature definitions themselves live in the SQL files."""

    model_config = ConfigDict(frozen=True)

    # DuckDB's limit covers its buffer manager only; the process's peak RSS ran about 0.4 GB
    # above it at 3e7 events (bench/results/features.md), so 3 GB keeps the build under 4 GB.
    memory_limit: str | None = "3GB"
    threads: int | None = None


class FeatureBuildResult(BaseModel):
    as_of: date
    persons: int
    features: int
    feature_set_version: str
    seconds: float
    table_recreated: bool = False
    # Seconds per step (SQL file name -> seconds), for the benchmark and for finding slow steps.
    step_seconds: dict[str, float] = {}


class NoEventsBeforeError(ValueError):
    """The warehouse holds no event before the requested as-of date."""


def build_features(warehouse_path: str | os.PathLike[str], as_of: date,
                   settings: FeatureSettings | None = None) -> FeatureBuildResult:
    """Materialise features.person_features for `as_of` (its rows replaced); eligible persons
    only. One transaction: a build stopped at any moment (kill -9 included) leaves every
    feature table as the last complete build left it."""
    settings = settings or FeatureSettings()
    with (open_warehouse(Path(warehouse_path), memory_limit=settings.memory_limit,
                         threads=settings.threads) as con,
          one_transaction(con)):
        return build_features_in_transaction(con, as_of)


def build_features_in_transaction(con: duckdb.DuckDBPyConnection,
                                  as_of: date) -> FeatureBuildResult:
    """The build inside the caller's transaction (training builds all its snapshots in one)."""
    started = time.perf_counter()
    first_event = con.execute("select min(occurred_at) from raw.events").fetchone()[0]
    if first_event is None or first_event.date() >= as_of:
        raise NoEventsBeforeError(
            f"no events before {as_of.isoformat()} in the warehouse "
            f"(first event: {first_event or 'none'}); ingest events or choose a later date"
        )
    step_seconds: dict[str, float] = {}
    for step, binds_as_of in BUILD_STEPS:
        step_started = time.perf_counter()
        con.execute(read_sql(step), {"as_of": as_of} if binds_as_of else {})
        step_seconds[step] = time.perf_counter() - step_started
    for table in INTERMEDIATE_TABLES:
        register_person_table(con, table, "person_id", "feature build intermediate, latest as_of")
    recreated = _match_feature_table_to_sql(con)
    con.execute("delete from features.person_features where as_of_date = ?", [as_of])
    step_started = time.perf_counter()
    con.execute(read_sql("features/queries/insert_person_features.sql"))
    step_seconds["features/queries/insert_person_features.sql"] = time.perf_counter() - step_started
    persons = con.execute("select count(*) from features.person_features where as_of_date = ?",
                          [as_of]).fetchone()[0]
    seconds = time.perf_counter() - started
    con.execute(
        "insert into features.feature_builds values (?, current_timestamp, ?, ?, ?)",
        [as_of, FEATURE_SET_VERSION, persons, seconds],
    )
    return FeatureBuildResult(as_of=as_of, persons=persons, features=len(FEATURE_NAMES),
                              feature_set_version=FEATURE_SET_VERSION, seconds=seconds,
                              table_recreated=recreated, step_seconds=step_seconds)


@contextmanager
def one_transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Everything done in the block commits together, or not at all (rolled back on any error;
    a killed process never commits, so DuckDB's log replays none of it)."""
    con.execute("begin transaction")
    try:
        yield
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def _match_feature_table_to_sql(con: duckdb.DuckDBPyConnection) -> bool:
    """Recreate features.person_features when its columns differ from the current feature set
    (a warehouse built by an earlier feature-set version). Features are derived data: the dates
    it held are rebuilt on demand from the events, so nothing is lost."""
    columns = [row[0] for row in con.execute("describe features.person_features").fetchall()]
    if tuple(columns) == FEATURE_TABLE_COLUMNS:
        return False
    con.execute("drop table features.person_features")
    con.execute(read_sql("features/person_features.sql"))
    return True


def load_feature_frame(con: duckdb.DuckDBPyConnection, as_of: date) -> pl.DataFrame:
    """Every profiled person's features for `as_of`, ordered by person_id (empty if not built)."""
    return con.execute(
        "select * from features.person_features where as_of_date = ? order by person_id", [as_of]
    ).pl()
