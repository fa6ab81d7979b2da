"""What an export reads from a sharded warehouse (docs/scale-out.md): the scores, scoring runs,
holdouts and pending removals are in the main warehouse file; eligibility and features are in
the shards, so each shard hands over its eligible persons with their features for the date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import polars as pl

from core.engine import ShardRunner, given_or_configured, run_here
from warehouse.db import open_warehouse
from warehouse.shards import ShardLayout
from warehouse.sql_files import read_sql


@dataclass(frozen=True)
class ShardEligibleFeatures:
    """A shard's task of an export: a path and a date, never a connection."""

    shard_path: str
    as_of: date


@dataclass(frozen=True)
class GatheredShards:
    """Every shard's eligible persons, with their features for the date (null when none)."""

    eligible: pl.DataFrame

    def population(self, con: duckdb.DuckDBPyConnection, as_of: date,
                   model: dict[str, object]) -> pl.DataFrame:
        """eligible_scored_population.sql's rows, from the main warehouse's scores."""
        con.register("shard_eligible_features", self.eligible.to_arrow())
        try:
            return con.execute(read_sql(
                "activation/queries/eligible_scored_population_of_shards.sql"), {
                "as_of": as_of, "model_name": model["name"], "model_version": model["version"],
            }).pl()
        finally:
            con.unregister("shard_eligible_features")

    def features_of_eligible(self) -> pl.DataFrame:
        """features_of_eligible.sql's rows: the eligible persons with features for the date."""
        return self.eligible.filter(pl.col("as_of_date").is_not_null())


def gather_eligible_features(layout: ShardLayout, as_of: date,
                             shard_runner: ShardRunner | None = None) -> GatheredShards:
    """Each shard's eligible persons and their features (by `shard_runner` when given, else on
    the Dask cluster $NORRUT_DASK_SCHEDULER names, else here, one shard after another)."""
    tasks = [ShardEligibleFeatures(str(path), as_of) for path in layout.shard_paths()]
    with given_or_configured(shard_runner) as runner:
        parts = (runner or run_here)(eligible_features_of_shard, tasks)
    return GatheredShards(pl.concat(parts))


def eligible_features_of_shard(task: ShardEligibleFeatures) -> pl.DataFrame:
    """A shard's task: shard_eligible_features.sql's rows, read without writing the shard."""
    with open_warehouse(task.shard_path, read_only=True) as con:
        return con.execute(read_sql("activation/queries/shard_eligible_features.sql"),
                           {"as_of": task.as_of}).pl()
