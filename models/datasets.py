"""Snapshot dates, labels and the training, validation and test sets built from the warehouse."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq

from core.contract import INTENT_EVENT_TYPES
from features.build import build_features_in_transaction, one_transaction
from features.catalog import FEATURE_NAMES
from warehouse.migrations import register_person_table
from warehouse.sql_files import read_sql

# Rows a shard's snapshot part is written in at a time: a bounded buffer whatever its size.
SNAPSHOT_BATCH_ROWS = 100_000


class TrainingDataError(ValueError):
    """The warehouse cannot give a sound training set for the requested settings."""


@dataclass(frozen=True)
class SnapshotPlan:
    """As-of dates of each set. Every label window [d, d + horizon) ends on or before the next
    set's first date, so no label event of one set is seen as a label of a later set."""

    training: tuple[date, ...]
    validation: date
    test: date
    scoring: date
    horizon_days: int

    def as_params(self) -> dict[str, str]:
        return {
            "training_snapshots": ",".join(d.isoformat() for d in self.training),
            "validation_snapshot": self.validation.isoformat(),
            "test_snapshot": self.test.isoformat(),
            "scoring_date": self.scoring.isoformat(),
        }


def plan_snapshots(scoring_date: date, horizon_days: int, n_training_snapshots: int,
                   snapshot_interval_days: int) -> SnapshotPlan:
    """Test labels end on the scoring date, validation labels where the test starts, and the
    latest training labels where the validation starts; earlier training dates step back."""
    if horizon_days < 1 or n_training_snapshots < 1 or snapshot_interval_days < 1:
        raise TrainingDataError("horizon, number of training snapshots and interval must be >= 1")
    horizon = timedelta(days=horizon_days)
    test = scoring_date - horizon
    validation = test - horizon
    latest_training = validation - horizon
    training = tuple(latest_training - timedelta(days=snapshot_interval_days * i)
                     for i in range(n_training_snapshots - 1, -1, -1))
    return SnapshotPlan(training, validation, test, scoring_date, horizon_days)


def fit_plan_to_data(con: duckdb.DuckDBPyConnection, plan: SnapshotPlan) -> SnapshotPlan:
    """The plan without the training snapshots that no event precedes (a snapshot needs some
    history to describe anyone): the number of training snapshots is an upper bound, clamped
    to the data. Validation, test and at least the latest training snapshot are kept as they
    are, for check_plan_against_data to judge."""
    return fit_plan_to_first_event(plan, event_span(con)[0])


def fit_plan_to_first_event(plan: SnapshotPlan, first: date | None) -> SnapshotPlan:
    """fit_plan_to_data, given the date of the first event (None when there is none)."""
    if first is None:
        return plan
    kept = tuple(d for d in plan.training if d > first) or plan.training[-1:]
    return SnapshotPlan(kept, plan.validation, plan.test, plan.scoring, plan.horizon_days)


def check_plan_against_data(con: duckdb.DuckDBPyConnection, plan: SnapshotPlan) -> None:
    """Clear errors for a plan the data cannot support: nothing before the first snapshot, or a
    test label window that runs past the last day with events."""
    check_plan_against_span(plan, *event_span(con))


def event_span(con: duckdb.DuckDBPyConnection) -> tuple[date | None, date | None]:
    """The dates of the first and the last stored event (None, None when there is none)."""
    first, last = con.execute(
        "select min(occurred_at)::date, max(occurred_at)::date from raw.events").fetchone()
    return first, last


def check_plan_against_span(plan: SnapshotPlan, first: date | None, last: date | None) -> None:
    """check_plan_against_data, given the dates of the first and the last event."""
    if first is None:
        raise TrainingDataError("the warehouse holds no events; run `norrut ingest` first")
    earliest = plan.training[0]
    if first >= earliest:
        raise TrainingDataError(
            f"no events before the earliest training snapshot {earliest} (first event {first}); "
            f"use fewer training snapshots, a shorter horizon or a later --as-of"
        )
    data_end = last + timedelta(days=1)
    if plan.scoring > data_end:
        raise TrainingDataError(
            f"the {plan.horizon_days}-day label window of the test snapshot {plan.test} runs to "
            f"{plan.scoring}, past the last day with events ({last}); use --as-of {data_end} or "
            f"earlier, or a shorter horizon"
        )


def labelled_snapshot(con: duckdb.DuckDBPyConnection, as_of: date, horizon_days: int,
                      intent_types: tuple[str, ...] = INTENT_EVENT_TYPES,
                      max_rows: int | None = None) -> pl.DataFrame:
    """Build the features for `as_of` and attach the label; one row per profiled person (at
    most `max_rows` of them, as bounded_snapshot keeps them). One transaction: stopped at any
    moment, it leaves the feature tables as they were."""
    with one_transaction(con):
        return bounded_snapshot([labelled_snapshot_in_transaction(
            con, as_of, horizon_days, intent_types, max_rows)], max_rows)


def labelled_snapshot_in_transaction(con: duckdb.DuckDBPyConnection, as_of: date,
                                      horizon_days: int, intent_types: tuple[str, ...],
                                      max_rows: int | None = None) -> pl.DataFrame:
    """labelled_snapshot's rows within the caller's transaction, with their sample_key (for
    bounded_snapshot, which puts the parts of a snapshot together)."""
    return _labelled_snapshot_result(con, as_of, horizon_days, intent_types, max_rows).pl()


def write_labelled_snapshot_in_transaction(con: duckdb.DuckDBPyConnection, as_of: date,
                                           horizon_days: int, intent_types: tuple[str, ...],
                                           max_rows: int | None, path: str | Path) -> int:
    """labelled_snapshot_in_transaction's rows written to the Parquet file `path` a batch at a
    time (a shard's part, for bounded_snapshot_of_files); the number of rows written."""
    result = _labelled_snapshot_result(con, as_of, horizon_days, intent_types, max_rows)
    batches = result.to_arrow_reader(SNAPSHOT_BATCH_ROWS)
    written = 0
    with pq.ParquetWriter(str(path), batches.schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
            written += batch.num_rows
    return written


def _labelled_snapshot_result(con: duckdb.DuckDBPyConnection, as_of: date, horizon_days: int,
                              intent_types: tuple[str, ...],
                              max_rows: int | None) -> duckdb.DuckDBPyConnection:
    unknown = sorted(set(intent_types) - set(INTENT_EVENT_TYPES))
    if unknown or not intent_types:
        raise TrainingDataError(
            f"intent types must be a non-empty subset of {', '.join(INTENT_EVENT_TYPES)}; "
            f"got {', '.join(unknown) or 'none'}"
        )
    build_features_in_transaction(con, as_of)
    con.execute(read_sql("features/person_label.sql"),
                {"as_of": as_of, "horizon_days": horizon_days, "intent_types": list(intent_types)})
    register_person_table(con, "features.person_label", "person_id", "labels of the latest training")
    return con.execute(read_sql("features/queries/labelled_snapshot.sql"),
                       {"as_of": as_of, "max_rows": max_rows})


def bounded_snapshot(parts: Sequence[pl.DataFrame], max_rows: int | None) -> pl.DataFrame:
    """One snapshot from its parts (one machine's, or each shard's): the `max_rows` rows of
    smallest sample_key (all when None), by person_id, without the key. Each part keeps its
    own smallest already (labelled_snapshot.sql), so the shards give one machine's rows."""
    rows = pl.concat(parts)
    if max_rows is not None and rows.height > max_rows:
        rows = rows.sort("sample_key", "person_id").head(max_rows)
    return rows.sort("person_id").drop("sample_key")


def bounded_snapshot_of_files(paths: Sequence[str | Path], max_rows: int | None) -> pl.DataFrame:
    """bounded_snapshot of parts written as Parquet files (the shards', each within the bound
    already): the keys are read first, then only the kept persons' rows, so the process never
    holds more than the bound's rows (on 4 shards, a quarter of what the parts hold)."""
    sources = [str(path) for path in paths]
    if max_rows is None:
        return pl.read_parquet(sources).sort("person_id").drop("sample_key")
    keys = pl.read_parquet(sources, columns=["sample_key", "person_id"])
    if keys.height <= max_rows:
        return pl.read_parquet(sources).sort("person_id").drop("sample_key")
    # person_id is the snapshot's key: the kept persons name the kept rows
    kept = keys.sort("sample_key", "person_id").head(max_rows)["person_id"]
    rows = pl.scan_parquet(sources).filter(pl.col("person_id").is_in(kept.implode())).collect()
    return rows.sort("person_id").drop("sample_key")


@dataclass(frozen=True)
class RowBounds:
    """Most rows the sets take (TrainSettings.max_training_rows and max_evaluation_rows; None:
    every row): the training snapshots share the training bound equally, the validation and
    the test snapshot each take the evaluation bound."""

    training: int | None = None
    evaluation: int | None = None

    def of_dates(self, plan: SnapshotPlan) -> tuple[int | None, ...]:
        """Each date's bound, in the plan's order: training snapshots, validation, test."""
        per_snapshot = (None if self.training is None
                        else max(1, self.training // len(plan.training)))
        return (*(per_snapshot for _ in plan.training), self.evaluation, self.evaluation)


@dataclass
class TrainingSets:
    training: pl.DataFrame
    validation: pl.DataFrame
    test: pl.DataFrame


def build_training_sets(con: duckdb.DuckDBPyConnection, plan: SnapshotPlan,
                        intent_types: tuple[str, ...],
                        bounds: RowBounds = RowBounds()) -> TrainingSets:
    """Every snapshot of the plan, built and labelled within its bound, each in a transaction
    of its own: a training killed while building them leaves every date's features whole, as
    before or rebuilt from the same events."""
    check_plan_against_data(con, plan)
    # One transaction a snapshot, not one for all: DuckDB keeps a transaction's uncommitted
    # tables in memory, beyond its memory limit. Measured on 221 k persons, 4 snapshots: 600 MB
    # more a snapshot (peak RSS 3.7 GB in one transaction, 2.1 GB one a snapshot, 20 s against
    # 25 s); 2.2 M persons in one transaction went past this machine's 24 GB at the fourth.
    dates = (*plan.training, plan.validation, plan.test)
    *training, validation, test = [
        labelled_snapshot(con, as_of, plan.horizon_days, intent_types, max_rows)
        for as_of, max_rows in zip(dates, bounds.of_dates(plan), strict=True)]
    return TrainingSets(pl.concat(training), validation, test)


def check_positives(sets: TrainingSets, min_positives: int) -> None:
    for name, frame in (("training", sets.training), ("validation", sets.validation),
                        ("test", sets.test)):
        positives = int(frame["label"].sum()) if frame.height else 0
        if positives < min_positives:
            raise TrainingDataError(
                f"too few positive examples in the {name} set: {positives} persons with an "
                f"intent event in the label window, at least {min_positives} needed; "
                f"use a longer horizon, more intent types or more data"
            )


def feature_matrix(frame: pl.DataFrame, feature_names: tuple[str, ...] | list[str] = FEATURE_NAMES):
    """The model input: a pandas frame of float64 features in catalog order, no identifiers."""
    return frame.select([pl.col(name).cast(pl.Float64) for name in feature_names]).to_pandas()


def data_digest(sets: TrainingSets) -> str:
    """SHA-256 (hex) of every row of the training, validation and test sets, identifiers, dates
    and labels included, in order: two runs have the same digest exactly when they learned
    from and were tested on the same data (under the same Polars version, whose row hash it
    uses)."""
    import hashlib

    digest = hashlib.sha256()
    for name, frame in (("training", sets.training), ("validation", sets.validation),
                        ("test", sets.test)):
        digest.update(f"{name}:{frame.height}:{','.join(frame.columns)};".encode())
        digest.update(frame.hash_rows(seed=0).to_numpy().tobytes())
    return digest.hexdigest()
