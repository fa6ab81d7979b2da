"""The per-person part of the monitor, measured where the persons' events are: the warehouse file
on one machine, or each shard in a task of its own (docs/scale-out.md). For one scoring run a
place gives, of its persons: the features they were scored on and their score, the features of
the champion's training snapshot, whether they had no event in the 30 days before the run, and,
once the run has matured, their label. The main process gathers the places' rows sorted by
person_id and computes every figure from them (monitoring/health.py): a stability index needs
the quantiles of the whole reference, an AUC every person's score and label, so the rows are
gathered rather than summed, and the figures are the single machine's exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa

from core.engine import ShardRunner
from features.build import build_features_in_transaction
from warehouse.db import one_transaction, open_warehouse
from warehouse.shard_reads import copy_catalog, gathered, replace_catalog, split_by_shard
from warehouse.shards import ShardLayout
from warehouse.sql_files import read_sql

# features/sql/person_label.sql writes training's label table; the monitor runs the same
# statement into a temporary table of its own, so "what happened" is the training label.
LABEL_TABLE = "create or replace table features.person_label as"
MONITOR_LABEL_TABLE = "create or replace temp table monitor_labels as"


@dataclass(frozen=True)
class RunQuestion:
    """What a place measures of one scoring run's persons (monitor_scores holds their scores)."""

    as_of: date
    reference_as_of: date
    feature_names: tuple[str, ...]
    horizon_days: int
    intent_types: tuple[str, ...]
    backtest: bool  # the run has matured: label its persons


@dataclass(frozen=True)
class PersonRows:
    """A place's rows (or every place's, gathered), each sorted by person_id."""

    scored: pa.Table      # person_id, the model's features, score
    reference: pa.Table   # person_id, the model's features at the reference date
    inactive: pa.Table    # person_id, is_inactive
    backtest: pa.Table | None  # person_id, score, decile, label; None before the run matured


@dataclass(frozen=True)
class ShardMonitorTask:
    """A shard's task of one scoring run: paths and the question, never a connection."""

    shard_path: str
    catalog_path: str
    scores_paths: tuple[str, ...]
    question: RunQuestion


def _query(name: str) -> str:
    return read_sql(f"monitoring/queries/{name}.sql")


def has_features(con: duckdb.DuckDBPyConnection, as_of: date) -> bool:
    return con.execute("select exists (select 1 from features.person_features "
                       "where as_of_date = ?)", [as_of]).fetchone()[0]


def measure_here(con: duckdb.DuckDBPyConnection, key: dict,
                 question: RunQuestion) -> PersonRows:
    """One machine: the run's persons measured in the warehouse `con` opened, in the caller's
    transaction. The features of both dates are built first when the warehouse holds none (a
    new feature set recreates the table); point in time, so as they were first built."""
    for day in (question.as_of, question.reference_as_of):
        if not has_features(con, day):
            build_features_in_transaction(con, day)
    con.execute(_query("monitor_scores"))
    con.execute("insert into monitor_scores " + _query("run_scores"), key)
    return person_rows(con, question)


def measure_on_shards(con: duckdb.DuckDBPyConnection, key: dict, question: RunQuestion,
                      layout: ShardLayout, staging: Path, shard_runner: ShardRunner) -> PersonRows:
    """A sharded warehouse: the run's scores (main file) split by shard, each shard's persons
    measured in a task of its own, and their rows gathered."""
    folder = staging / f"run-{question.as_of.isoformat()}-{key['model_version']}"
    folder.mkdir()
    catalog_path = copy_catalog(con, folder)
    scores = split_by_shard(con, _query("run_scores"), key, layout, folder / "scores")
    tasks = [ShardMonitorTask(str(path), catalog_path, scores[shard], question)
             for shard, path in enumerate(layout.shard_paths())]
    return combined(shard_runner(measure_on_shard, tasks))


def measure_on_shard(task: ShardMonitorTask) -> PersonRows:
    """A shard's task: the features of both dates built when the shard holds none (from the main
    file's catalog), then its persons measured."""
    question = task.question
    with open_warehouse(task.shard_path) as con, one_transaction(con):
        missing = [day for day in (question.as_of, question.reference_as_of)
                   if not has_features(con, day) and _has_events_before(con, day)]
        if missing:
            replace_catalog(con, task.catalog_path)
        for day in missing:
            build_features_in_transaction(con, day)
        con.execute(_query("monitor_scores"))
        if task.scores_paths:
            con.execute("insert into monitor_scores by name "
                        "select * from read_parquet(?, hive_partitioning = false)",
                        [list(task.scores_paths)])
        return person_rows(con, question)


def _has_events_before(con: duckdb.DuckDBPyConnection, day: date) -> bool:
    # a shard with no event before the date has no person to profile (a small world's shard)
    first_event = con.execute("select min(occurred_at) from raw.events").fetchone()[0]
    return first_event is not None and first_event.date() < day


def person_rows(con: duckdb.DuckDBPyConnection, question: RunQuestion) -> PersonRows:
    """The place's rows of the run whose scores are in monitor_scores."""
    columns = ["person_id", *question.feature_names]
    scored = con.execute(_query("scored_features"), {"as_of": question.as_of}).to_arrow_table()
    reference = con.execute("select * from features.person_features where as_of_date = ? "
                            "order by person_id", [question.reference_as_of]).to_arrow_table()
    inactive = con.execute(_query("inactive_persons"), {"as_of": question.as_of}).to_arrow_table()
    backtest = None
    if question.backtest:
        statement = read_sql("features/person_label.sql")
        if LABEL_TABLE not in statement:
            raise RuntimeError("features/person_label.sql no longer creates features.person_label")
        con.execute(statement.replace(LABEL_TABLE, MONITOR_LABEL_TABLE), {
            "as_of": question.as_of, "horizon_days": question.horizon_days,
            "intent_types": list(question.intent_types)})
        backtest = con.execute(_query("backtest_persons")).to_arrow_table()
        con.execute("drop table temp.main.monitor_labels")
    con.execute("drop table temp.main.monitor_scores")
    return PersonRows(scored=_selected(scored, [*columns, "score"]),
                      reference=_selected(reference, columns), inactive=inactive,
                      backtest=backtest)


def _selected(table: pa.Table, columns: list[str]) -> pa.Table:
    """Only the model's columns travel back to the main process."""
    missing = [name for name in columns if name not in table.column_names]
    if missing:
        raise ValueError(
            f"the champion model needs features missing from features.person_features: {missing}")
    return table.select(columns)


def combined(parts: list[PersonRows]) -> PersonRows:
    """Every place's rows as one, each table sorted by person_id."""
    backtests = [part.backtest for part in parts if part.backtest is not None]
    return PersonRows(
        scored=gathered([part.scored for part in parts], ["person_id"]),
        reference=gathered([part.reference for part in parts], ["person_id"]),
        inactive=gathered([part.inactive for part in parts], ["person_id"]),
        backtest=gathered(backtests, ["person_id"]) if backtests else None)
