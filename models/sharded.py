"""The training sets of a sharded warehouse (docs/scale-out.md): each shard builds and labels
its persons' snapshots with the same SQL as one machine, each in a transaction of its own; the
main process puts each snapshot's rows together in the single machine's order (by person_id).
A person's features and label read only that person's events and the catalog, so the sets are
the single machine's, row for row."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from core.engine import ShardRunner
from features.build import NoEventsBeforeError
from features.sharded import replace_catalog_copy, staged_catalog
from models.datasets import (
    RowBounds,
    SnapshotPlan,
    TrainingSets,
    bounded_snapshot_of_files,
    check_plan_against_span,
    event_span,
    fit_plan_to_first_event,
    write_labelled_snapshot_in_transaction,
)
from warehouse.db import one_transaction, open_warehouse
from warehouse.shards import ShardLayout


@dataclass(frozen=True)
class ShardSnapshots:
    """A shard's task of a training run: paths and the plan's dates, never a connection."""

    shard_path: str
    catalog_path: str
    dates: tuple[date, ...]  # the training snapshots, then the validation's, then the test's
    horizon_days: int
    intent_types: tuple[str, ...]
    max_rows: tuple[int | None, ...]  # each date's bound (RowBounds.of_dates)
    parts_dir: str  # where the shard writes each date's part (a staging folder every worker reads)

    def part_path(self, index: int) -> str:
        return str(Path(self.parts_dir) / f"{Path(self.shard_path).stem}-{index}.parquet")


def training_sets_of_shards(warehouse_path: str | os.PathLike[str], layout: ShardLayout,
                            plan: SnapshotPlan, intent_types: tuple[str, ...],
                            shard_runner: ShardRunner,
                            bounds: RowBounds = RowBounds()) -> tuple[SnapshotPlan, TrainingSets]:
    """The plan fitted to the shards' events (fit_plan_to_data, check_plan_against_data over
    all of them) and its training, validation and test sets, as build_training_sets gives them
    on one machine."""
    plan = plan_fitted_to_shards(layout, plan, shard_runner)
    snapshots = labelled_snapshots_of_shards(
        warehouse_path, layout, (*plan.training, plan.validation, plan.test), plan.horizon_days,
        intent_types, shard_runner, bounds.of_dates(plan))
    return plan, TrainingSets(pl.concat(snapshots[:-2]), snapshots[-2], snapshots[-1])


def plan_fitted_to_shards(layout: ShardLayout, plan: SnapshotPlan,
                          shard_runner: ShardRunner) -> SnapshotPlan:
    """The plan fitted to the first event of any shard and checked against all shards' events
    (fit_plan_to_data, check_plan_against_data over all of them)."""
    spans = shard_runner(event_span_of_shard,
                         [ShardEventSpan(str(path)) for path in layout.shard_paths()])
    first = min((span[0] for span in spans if span[0] is not None), default=None)
    last = max((span[1] for span in spans if span[1] is not None), default=None)
    plan = fit_plan_to_first_event(plan, first)
    check_plan_against_span(plan, first, last)
    return plan


def labelled_snapshots_of_shards(warehouse_path: str | os.PathLike[str], layout: ShardLayout,
                                 dates: tuple[date, ...], horizon_days: int,
                                 intent_types: tuple[str, ...],
                                 shard_runner: ShardRunner,
                                 max_rows: tuple[int | None, ...] | None = None
                                 ) -> list[pl.DataFrame]:
    """labelled_snapshot of each date over every shard, within the date's bound in `max_rows`
    (None: no bound): each date's rows from all shards, the rows and the order one machine
    gives."""
    max_rows = max_rows or tuple(None for _ in dates)
    with staged_catalog(warehouse_path, layout, "training") as catalog_path:
        tasks = [ShardSnapshots(str(path), str(catalog_path), dates, horizon_days,
                                tuple(intent_types), max_rows, str(catalog_path.parent))
                 for path in layout.shard_paths()]
        # The parts come back as files, not frames: at 1e8 events a shard's parts were ~5 GB
        # of frames, pickled to the command beside DuckDB's memory, and killed its worker.
        per_shard = shard_runner(labelled_snapshots_of_shard, tasks)
        snapshots = []
        for index, as_of in enumerate(dates):
            parts = [shard[index] for shard in per_shard if shard[index] is not None]
            if not parts:
                raise NoEventsBeforeError(f"no events before {as_of.isoformat()} in any shard")
            snapshots.append(bounded_snapshot_of_files(parts, max_rows[index]))
    return snapshots


@dataclass(frozen=True)
class ShardEventSpan:
    """A shard's task of reading its events' first and last date."""

    shard_path: str


def event_span_of_shard(task: ShardEventSpan) -> tuple[date | None, date | None]:
    """A shard's task: the dates of its first and last event, read without writing."""
    with open_warehouse(task.shard_path, read_only=True) as con:
        return event_span(con)


def labelled_snapshots_of_shard(task: ShardSnapshots) -> list[str | None]:
    """A shard's task: its catalog copy replaced, then each date's features built and labelled
    in a transaction of its own (as build_training_sets does on one machine, for its memory),
    at most the date's bound of rows with their sample_key written to the date's part file
    (for bounded_snapshot_of_files); the files' paths, None for a date no event of the shard
    precedes (nobody of the shard is profiled then)."""
    with open_warehouse(task.shard_path) as con:
        with one_transaction(con):
            replace_catalog_copy(con, task.catalog_path)
        first = event_span(con)[0]
        snapshots = []
        for index, (as_of, max_rows) in enumerate(zip(task.dates, task.max_rows, strict=True)):
            if first is None or first >= as_of:
                snapshots.append(None)
                continue
            with one_transaction(con):
                write_labelled_snapshot_in_transaction(
                    con, as_of, task.horizon_days, task.intent_types, max_rows,
                    task.part_path(index))
            snapshots.append(task.part_path(index))
        return snapshots
