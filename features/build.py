"""Build the point-in-time person features for one as-of date, and read them back."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
from pydantic import BaseModel

from features.catalog import CATALOG, FEATURE_SET_VERSION, FeatureCatalog
from features.feature_sql import engagement_sql, insert_sql, person_features_ddl, themes_sql
from features.settings import FeatureSettings
from warehouse.db import one_transaction, open_warehouse
from warehouse.migrations import register_person_table
from warehouse.shards import layout_of
from warehouse.sql_files import read_sql

# Built in this order (file, whether it binds $as_of); each table is replaced by the next build
# and holds only its latest as_of. The engagement and themes files are templates whose columns
# come from the catalog (_GENERATED_STEPS).
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
_GENERATED_STEPS = {
    "features/person_engagement_90d.sql": engagement_sql,
    "features/person_themes_90d.sql": themes_sql,
}
INSERT_STEP = "features/queries/insert_person_features.sql"
FEATURE_TABLE_COLUMNS = CATALOG.table_columns
# Hears each build step as it starts: (step, steps done, steps in all), then ("done", n, n).
StepProgress = Callable[[str, int, int], None]


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
                   settings: FeatureSettings | None = None,
                   progress: StepProgress | None = None) -> FeatureBuildResult:
    """Materialise features.person_features for `as_of` (its rows replaced); eligible persons
    only. One transaction: a build stopped at any moment (kill -9 included) leaves every
    feature table as the last complete build left it."""
    settings = settings or FeatureSettings()
    with (open_warehouse(Path(warehouse_path), memory_limit=settings.memory_limit,
                         threads=settings.threads) as con,
          one_transaction(con)):
        return build_features_in_transaction(con, as_of, progress=progress)


def build_features_in_transaction(con: duckdb.DuckDBPyConnection, as_of: date,
                                  catalog: FeatureCatalog = CATALOG,
                                  progress: StepProgress | None = None) -> FeatureBuildResult:
    """The build inside the caller's transaction (training builds all its snapshots in one);
    `catalog` is the models' feature set unless a test declares another."""
    report = progress or (lambda step, done, total: None)
    total_steps = len(BUILD_STEPS) + 1
    started = time.perf_counter()
    first_event = con.execute("select min(occurred_at) from raw.events").fetchone()[0]
    if first_event is None or first_event.date() >= as_of:
        raise NoEventsBeforeError(
            f"no events before {as_of.isoformat()} in the warehouse "
            f"(first event: {first_event or 'none'}); ingest events or choose a later date"
        )
    step_seconds: dict[str, float] = {}
    for done, (step, binds_as_of) in enumerate(BUILD_STEPS):
        report(Path(step).stem, done, total_steps)
        step_started = time.perf_counter()
        con.execute(step_sql(step, catalog), {"as_of": as_of} if binds_as_of else {})
        step_seconds[step] = time.perf_counter() - step_started
    for table in INTERMEDIATE_TABLES:
        register_person_table(con, table, "person_id", "feature build intermediate, latest as_of")
    recreated = _match_feature_table_to_catalog(con, catalog)
    con.execute("delete from features.person_features where as_of_date = ?", [as_of])
    report(Path(INSERT_STEP).stem, len(BUILD_STEPS), total_steps)
    step_started = time.perf_counter()
    con.execute(insert_sql(catalog))
    step_seconds[INSERT_STEP] = time.perf_counter() - step_started
    persons = con.execute("select count(*) from features.person_features where as_of_date = ?",
                          [as_of]).fetchone()[0]
    seconds = time.perf_counter() - started
    con.execute(
        "insert into features.feature_builds values (?, current_timestamp, ?, ?, ?)",
        [as_of, FEATURE_SET_VERSION, persons, seconds],
    )
    report("done", total_steps, total_steps)
    return FeatureBuildResult(as_of=as_of, persons=persons, features=len(catalog.features),
                              feature_set_version=FEATURE_SET_VERSION, seconds=seconds,
                              table_recreated=recreated, step_seconds=step_seconds)


def step_sql(step: str, catalog: FeatureCatalog) -> str:
    """The SQL of one build step: its file, or the template filled from the catalog."""
    generate = _GENERATED_STEPS.get(step)
    return read_sql(step) if generate is None else generate(catalog)


def _match_feature_table_to_catalog(con: duckdb.DuckDBPyConnection,
                                    catalog: FeatureCatalog) -> bool:
    """Recreate features.person_features from the catalog's DDL when its columns differ from
    the catalog's (a warehouse built by an earlier feature-set version). Features are derived
    data: the dates it held are rebuilt on demand from the events, so nothing is lost."""
    columns = [row[0] for row in con.execute("describe features.person_features").fetchall()]
    if tuple(columns) == catalog.table_columns:
        return False
    con.execute("drop table features.person_features")
    con.execute(person_features_ddl(catalog))
    return True


def has_features(warehouse_path: str | os.PathLike[str], as_of: date) -> bool:
    """Whether features.person_features holds rows for `as_of`, read without writing.

    The rows themselves, not features.feature_builds, answer: a table recreated for a new
    feature set keeps no earlier build's rows, and a build that profiled nobody leaves none.
    No warehouse file yet holds no features; a sharded one has them when any shard has."""
    if not Path(warehouse_path).exists():
        return False
    query = "select exists (select 1 from features.person_features where as_of_date = ?)"
    with open_warehouse(Path(warehouse_path), read_only=True) as con:
        layout = layout_of(con, warehouse_path)
        if layout is None:
            return con.execute(query, [as_of]).fetchone()[0]
    # a sharded warehouse keeps its features in the shards (features/sharded.py)
    for shard_path in layout.shard_paths():
        with open_warehouse(shard_path, read_only=True) as shard:
            if shard.execute(query, [as_of]).fetchone()[0]:
                return True
    return False


def load_feature_frame(con: duckdb.DuckDBPyConnection, as_of: date) -> pl.DataFrame:
    """Every profiled person's features for `as_of`, ordered by person_id (empty if not built)."""
    return con.execute(
        "select * from features.person_features where as_of_date = ? order by person_id", [as_of]
    ).pl()
