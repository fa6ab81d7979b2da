"""The per-person part of the creative report, made where the persons' events are: the warehouse
file on one machine, or each shard in a task of its own (docs/scale-out.md). A place builds the
features of the window's start S and of the intent window's start S + E in a transaction it
rolls back, and gives, of its persons: the features the champion scores at S (eligible persons),
and who was shown what, whether they engaged, and their label. The main process gathers the
rows sorted by person, scores every person in one matrix and stratifies per item over all of
them (insight/creatives.py), so the report is the single machine's exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pyarrow as pa

from features.build import NoEventsBeforeError, build_features_in_transaction
from warehouse.db import open_warehouse
from warehouse.shard_reads import gathered, replace_catalog
from warehouse.sql_files import read_sql

EXPOSURE_KEY = ("person_id", "dimension", "item_id")


@dataclass(frozen=True)
class ExposureQuestion:
    """The report's windows and types, and the champion's features."""

    exposure_start: date
    outcome_start: date
    horizon_days: int
    intent_types: tuple[str, ...]
    engagement_types: tuple[str, ...]
    feature_names: tuple[str, ...]


@dataclass(frozen=True)
class ExposureRows:
    """A place's rows (or every place's, gathered and sorted by their key)."""

    features: pa.Table   # person_id and the champion's features at S, eligible persons
    shown: pa.Table      # creative_person_exposures.sql: person_id, dimension, item_id, ...


@dataclass(frozen=True)
class ShardExposureTask:
    """A shard's task of one report: paths and the question, never a connection."""

    shard_path: str
    catalog_path: str
    question: ExposureQuestion


def exposures_in_transaction(con: duckdb.DuckDBPyConnection,
                             question: ExposureQuestion) -> ExposureRows | None:
    """The place's rows, in the caller's transaction (which it rolls back: the features and
    labels are built only to be read here); None when the place has no event before S."""
    try:
        build_features_in_transaction(con, question.exposure_start)
    except NoEventsBeforeError:
        return None
    features = con.execute(read_sql("activation/queries/features_of_eligible.sql"),
                           {"as_of": question.exposure_start}).to_arrow_table()
    columns = ["person_id", *question.feature_names]
    missing = [name for name in columns if name not in features.column_names]
    if missing:
        raise ValueError("the champion model needs features missing from "
                         f"features.person_features: {missing}")
    build_features_in_transaction(con, question.outcome_start)
    con.execute(read_sql("features/person_label.sql"), {
        "as_of": question.outcome_start, "horizon_days": question.horizon_days,
        "intent_types": list(question.intent_types)})
    con.register("creative_eligible", features.select(["person_id"]))
    try:
        shown = con.execute(read_sql("insight/queries/creative_person_exposures.sql"), {
            "exposure_start": question.exposure_start,
            "outcome_start": question.outcome_start,
            "engagement_types": list(question.engagement_types)}).to_arrow_table()
    finally:
        con.unregister("creative_eligible")
    return ExposureRows(features.select(columns), shown)


def exposures_on_shard(task: ShardExposureTask) -> ExposureRows | None:
    """A shard's task: its catalog copy replaced with the main file's and its rows made, all in
    one transaction rolled back, so the shard is left as it was."""
    with open_warehouse(task.shard_path) as con:
        con.execute("begin transaction")
        try:
            replace_catalog(con, task.catalog_path)
            return exposures_in_transaction(con, task.question)
        finally:
            con.execute("rollback")


def combined(parts: list[ExposureRows | None]) -> ExposureRows | None:
    """Every place's rows as one, sorted by key; None when no place had an event before S."""
    found = [part for part in parts if part is not None]
    if not found:
        return None
    return ExposureRows(gathered([part.features for part in found], ["person_id"]),
                        gathered([part.shown for part in found], EXPOSURE_KEY))
