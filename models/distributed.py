"""A distributed fit (TrainSettings.distributed_fit, docs/scale-out.md): the LightGBM booster
fitted by lightgbm.dask on the Dask cluster, for a training set too big for the command's
memory. Each shard's task builds and labels its snapshots with the same SQL as one machine and
writes its training rows as Parquet to a staging folder under the shards dir; the workers read
them from there, so the training rows never all pass through the command.

What needs rows in the command's memory gets bounded ones: a random sample of at most
`distributed_sample_rows` training rows (the logistic baseline, the model's input example) and
as many validation rows (the leakage check, the blend weight, the calibration), spread over
the shards by their share; the test snapshot comes within its bound (TrainSettings.
max_evaluation_rows), the same rows one machine takes, because the promotion step judges the
model on those rows again."""

from __future__ import annotations

import contextlib
import math
import os
import sys
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from core.engine import SCHEDULER_ENV_VAR, Engine, configured_engine, runner_on
from features.build import NoEventsBeforeError
from features.catalog import FEATURE_NAMES
from features.sharded import staged_catalog
from models.datasets import SnapshotPlan, TrainingSets, bounded_snapshot, bounded_snapshot_of_files
from models.estimators import lightgbm_options
from models.settings import LightGBMParams
from models.sharded import ShardSnapshots, labelled_snapshots_of_shard, plan_fitted_to_shards
from warehouse.shards import ShardLayout, read_layout
from warehouse.staging import shard_staging


class DistributedFitError(ValueError):
    """A distributed fit was asked for where it cannot run."""


def check_distributed_fit(warehouse_path: str | os.PathLike[str]) -> tuple[Engine, ShardLayout]:
    """The cluster and the shards a distributed fit runs on; DistributedFitError at once when
    no cluster is configured or the warehouse is not sharded."""
    engine = configured_engine()
    if not engine.uses_dask:
        raise DistributedFitError(
            f"distributed_fit needs a Dask cluster: set {SCHEDULER_ENV_VAR} (tcp://host:8786 or "
            "local:N), or train without distributed_fit")
    layout = read_layout(warehouse_path)
    if layout is None:
        raise DistributedFitError(
            "distributed_fit needs a sharded warehouse (`norrut shards create` or `norrut shards "
            "split`); an unsharded one trains on one machine without distributed_fit")
    return engine, layout


@dataclass(frozen=True)
class ShardStagedRows:
    """A shard's task of a distributed fit: ShardSnapshots, the Parquet file its training rows
    go to, and how many training and validation rows it sends back at most."""

    snapshots: ShardSnapshots
    training_rows_path: str
    sample_rows: int
    seed: int


@dataclass(frozen=True)
class StagedShardRows:
    """What a shard's task sends back: its training rows' count and their positives' (0: no
    file written), a sample of them and of its validation rows, with their sample_key, and the
    path of its test snapshot's part within the bound (None: no event of the shard precedes
    that date)."""

    training_rows: int
    training_positives: int
    training_sample: pl.DataFrame | None
    validation_sample: pl.DataFrame | None
    test_path: str | None


@dataclass(frozen=True)
class StagedTrainingSets:
    """The sets of a distributed fit: the bounded samples and the test snapshot (as
    TrainingSets), the staged Parquet files of every training row, how many rows they hold and
    how many of those are positive."""

    sets: TrainingSets
    training_rows_paths: tuple[str, ...]
    training_rows: int
    training_positives: int


def training_rows_staging(layout: ShardLayout) -> AbstractContextManager[Path]:
    """A staging folder under the shards dir (where every worker reads and writes) for the
    block; removed after."""
    return shard_staging(layout, "training-rows")


def staged_training_sets_of_shards(warehouse_path: str | os.PathLike[str], layout: ShardLayout,
                                   plan: SnapshotPlan, intent_types: tuple[str, ...],
                                   client, staging: Path, sample_rows: int, seed: int,
                                   max_test_rows: int | None
                                   ) -> tuple[SnapshotPlan, StagedTrainingSets]:
    """The plan fitted to the shards' events, as training_sets_of_shards fits it, and its sets
    staged: every training row written by its shard to `staging`, samples of the training and
    validation rows and the test snapshot (at most `max_test_rows`, one machine's rows)
    gathered here, ordered as one machine orders them."""
    run = runner_on(client)
    plan = plan_fitted_to_shards(layout, plan, run)
    per_shard_rows = math.ceil(sample_rows / layout.shard_count)
    with staged_catalog(warehouse_path, layout, "training") as catalog_path:
        tasks = [ShardStagedRows(
            ShardSnapshots(str(path), str(catalog_path), (*plan.training, plan.validation,
                                                          plan.test), plan.horizon_days,
                           tuple(intent_types),
                           (*(None for _ in plan.training), None, max_test_rows),
                           str(catalog_path.parent)),
            str(staging / f"{path.stem}.parquet"), per_shard_rows, seed)
            for path in layout.shard_paths()]
        staged = run(stage_rows_of_shard, tasks)
        # the test parts are files of the staging folder: read before it is removed
        test_paths = [shard.test_path for shard in staged if shard.test_path is not None]
        if not test_paths:
            raise NoEventsBeforeError(f"no events before {plan.test.isoformat()} in any shard")
        test = bounded_snapshot_of_files(test_paths, max_test_rows)
    sets = TrainingSets(
        _gathered([shard.training_sample for shard in staged], plan.training[-1]),
        _gathered([shard.validation_sample for shard in staged], plan.validation), test)
    paths = tuple(task.training_rows_path for task, shard in zip(tasks, staged, strict=True)
                  if shard.training_rows)
    return plan, StagedTrainingSets(sets, paths, sum(shard.training_rows for shard in staged),
                                    sum(shard.training_positives for shard in staged))


def _gathered(parts: list[pl.DataFrame | None], as_of) -> pl.DataFrame:
    """The shards' samples of one set in one machine's order (snapshot, then person)."""
    present = [part for part in parts if part is not None]
    if not present:
        raise NoEventsBeforeError(f"no events before {as_of.isoformat()} in any shard")
    return bounded_snapshot(present, None).sort("as_of_date", "person_id")


def stage_rows_of_shard(task: ShardStagedRows) -> StagedShardRows:
    """A shard's task: labelled_snapshots_of_shard, then its training rows (features as
    float64, the label) written to the task's Parquet file, and only samples of them and of the
    validation rows sent back, with the path of its test snapshot's part."""
    *training_paths, validation_path, test_path = labelled_snapshots_of_shard(task.snapshots)
    validation = None if validation_path is None else pl.read_parquet(validation_path)
    present = [pl.read_parquet(path) for path in training_paths if path is not None]
    if not present:
        return StagedShardRows(0, 0, None, _sample(validation, task), test_path)
    training = pl.concat(present)
    training.select([*(pl.col(name).cast(pl.Float64) for name in FEATURE_NAMES),
                     pl.col("label").cast(pl.Int8)]).write_parquet(task.training_rows_path)
    return StagedShardRows(training.height, int(training["label"].cast(pl.Int64).sum()),
                           _sample(training, task), _sample(validation, task), test_path)


def _sample(frame: pl.DataFrame | None, task: ShardStagedRows) -> pl.DataFrame | None:
    if frame is None or frame.height <= task.sample_rows:
        return frame
    return frame.sample(n=task.sample_rows, seed=task.seed)


def fit_lightgbm_on_cluster(client, training_rows_paths: tuple[str, ...],
                            params: LightGBMParams, rounds: int, seed: int):
    """LightGBM fitted by lightgbm.dask's DaskLGBMClassifier on the cluster's workers, each
    reading its partitions of the staged training rows; returned as a local LGBMClassifier
    (what calibration, the blend and PropensityModel read)."""
    import dask.dataframe as dd
    from lightgbm.dask import DaskLGBMClassifier

    columns = list(FEATURE_NAMES)
    # Read into the workers' memory first: features and labels must come in the same
    # partitions, and Dask plans a read of fewer columns into fewer, fused partitions.
    rows = client.persist(dd.read_parquet(list(training_rows_paths),
                                          columns=[*columns, "label"]))
    # A FIXED number of rounds and no validation set: distributed early stopping is known to
    # hang, so the cluster's fit never stops early (TrainSettings.distributed_boosting_rounds).
    options = lightgbm_options(params, seed, columns) | {"n_estimators": rounds}
    model = DaskLGBMClassifier(client=client, **options)
    # lightgbm.dask prints its progress (the ports it found) whatever its verbosity; stdout
    # carries the command's result (`norrut train --json`), so it goes to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        model.fit(rows[columns], rows["label"])
    return model.to_local()
