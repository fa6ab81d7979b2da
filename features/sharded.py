"""The feature build of a sharded warehouse (docs/scale-out.md): each shard builds its persons'
features in a task of its own, with the same SQL as one machine, from a copy of the main
warehouse's content catalog; the main warehouse logs the build. A person's features read only
that person's events and the catalog, so the shards' rows are the single machine's."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from core.engine import ShardRunner
from features.build import FeatureBuildResult, NoEventsBeforeError, build_features_in_transaction
from features.catalog import CATALOG, FEATURE_SET_VERSION
from features.settings import FeatureSettings
from warehouse.db import one_transaction, open_warehouse
from warehouse.shards import ShardLayout
from warehouse.sql_files import read_sql
from warehouse.staging import shard_staging


@dataclass(frozen=True)
class ShardFeatureBuild:
    """A shard's task of a feature build: paths and settings, never a connection."""

    shard_path: str
    catalog_path: str
    as_of: date
    memory_limit: str | None
    threads: int | None


@contextmanager
def staged_catalog(warehouse_path: str | os.PathLike[str], layout: ShardLayout,
                   purpose: str) -> Iterator[Path]:
    """The main warehouse's content catalog as a Parquet file in a staging folder under the
    shards dir (where every worker reads), for the block; the folder is removed after."""
    with shard_staging(layout, purpose) as staging:
        catalog_path = staging / "content_catalog.parquet"
        with open_warehouse(warehouse_path, read_only=True) as con:
            con.sql("select * from raw.content_catalog").to_parquet(str(catalog_path))
        yield catalog_path


def replace_catalog_copy(con: duckdb.DuckDBPyConnection, catalog_path: str) -> None:
    """A shard's copy of the catalog replaced by the staged one, in the caller's transaction:
    the shard's features then read the same themes as the single machine's."""
    con.execute("delete from raw.content_catalog")
    con.execute(read_sql("queries/shard_content_catalog.sql"), {"path": catalog_path})


def build_on_shards(warehouse_path: Path, layout: ShardLayout, as_of: date,
                    settings: FeatureSettings, shard_runner: ShardRunner) -> FeatureBuildResult:
    """Every shard's features for `as_of`, then the build's row in the main warehouse's
    features.feature_builds. NoEventsBeforeError when no shard has an event before `as_of`."""
    started = time.perf_counter()
    with staged_catalog(warehouse_path, layout, "features") as catalog_path:
        tasks = [ShardFeatureBuild(str(path), str(catalog_path), as_of, settings.memory_limit,
                                   settings.threads) for path in layout.shard_paths()]
        built = [result for result in shard_runner(build_on_shard, tasks) if result is not None]
    if not built:
        raise NoEventsBeforeError(f"no events before {as_of.isoformat()} in any shard; ingest "
                                  "events or choose a later date")
    persons = sum(result.persons for result in built)
    seconds = time.perf_counter() - started
    with open_warehouse(warehouse_path) as con:
        con.execute("insert into features.feature_builds values (?, current_timestamp, ?, ?, ?)",
                    [as_of, FEATURE_SET_VERSION, persons, seconds])
    step_seconds: dict[str, float] = {}
    for result in built:
        for step, step_time in result.step_seconds.items():
            step_seconds[step] = step_seconds.get(step, 0.0) + step_time
    return FeatureBuildResult(as_of=as_of, persons=persons, features=len(CATALOG.features),
                              feature_set_version=FEATURE_SET_VERSION, seconds=seconds,
                              table_recreated=any(result.table_recreated for result in built),
                              step_seconds=step_seconds)


def build_on_shard(task: ShardFeatureBuild) -> FeatureBuildResult | None:
    """A shard's task: its catalog copy replaced and its features built, in one transaction;
    None for a shard with no event before the date (a small warehouse's empty shard)."""
    with (open_warehouse(task.shard_path, memory_limit=task.memory_limit,
                         threads=task.threads) as con,
          one_transaction(con)):
        replace_catalog_copy(con, task.catalog_path)
        first_event = con.execute("select min(occurred_at) from raw.events").fetchone()[0]
        if first_event is None or first_event.date() >= task.as_of:
            return None
        return build_features_in_transaction(con, task.as_of)
