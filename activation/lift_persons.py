"""The per-person part of the lift, made where the persons' events are: the warehouse file on
one machine, or each shard in a task of its own (docs/scale-out.md). A place matches the ids in
the destination's files to its persons (activation/sql/queries/lift_treated_persons.sql) and
finds which of its treated and held-out persons converted in the period; the main process
gathers both and counts the units (activation/lift.py), since a unit's persons (ids that one id
form writes alike) may live in different shards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from core.engine import ShardRunner
from warehouse.db import open_warehouse
from warehouse.shard_reads import gathered
from warehouse.shards import ShardLayout
from warehouse.sql_files import read_sql
from warehouse.staging import shard_staging


@dataclass(frozen=True)
class LiftQuestion:
    """How the destination wrote a person's id, and the period and intent types counted."""

    id_form: str
    start: date
    end: date
    intent_types: tuple[str, ...]


@dataclass(frozen=True)
class LiftRows:
    """A place's rows (or every place's, gathered and sorted)."""

    treated: pa.Table    # file_id, person_id: the persons each exported id was written from
    converted: pa.Table  # person_id: treated or held-out persons with intent in the period


@dataclass(frozen=True)
class ShardLiftTask:
    """A shard's task of one lift measurement: paths and the question, never a connection."""

    shard_path: str
    exported_ids_path: str
    holdout_path: str
    question: LiftQuestion


def _query(name: str) -> str:
    return read_sql(f"activation/queries/{name}.sql")


def lift_rows_in(con: duckdb.DuckDBPyConnection, exported_ids: pa.Table, holdout: pa.Table,
                 question: LiftQuestion) -> LiftRows:
    """The place's rows: `exported_ids` (file_id) matched back to its persons the way the
    exporter wrote each id (Exporter.id_form), and which of them and of `holdout` (person_id)
    converted. The connection has the contract macros."""
    con.register("exported_ids", exported_ids)
    try:
        treated = con.execute(_query("lift_treated_persons"),
                              {"id_form": question.id_form}).to_arrow_table()
    finally:
        con.unregister("exported_ids")
    measured = pa.table({"person_id": pa.concat_arrays([
        treated["person_id"].combine_chunks().cast(pa.string()),
        holdout["person_id"].combine_chunks().cast(pa.string())])})
    con.register("measured_persons", measured)
    try:
        converted = con.execute(_query("lift_converted_persons"), {
            "start": question.start, "end": question.end,
            "intent_types": list(question.intent_types)}).to_arrow_table()
    finally:
        con.unregister("measured_persons")
    return LiftRows(treated, converted)


def lift_rows_on_shards(layout: ShardLayout, exported_ids: pa.Table, holdout: pa.Table,
                        question: LiftQuestion, shard_runner: ShardRunner) -> LiftRows:
    """Every shard's rows, each shard's task run by `shard_runner`, gathered."""
    with shard_staging(layout, "lift") as staging:
        ids_path, holdout_path = staging / "exported_ids.parquet", staging / "holdout.parquet"
        pq.write_table(exported_ids, ids_path)
        pq.write_table(holdout, holdout_path)
        tasks = [ShardLiftTask(str(path), str(ids_path), str(holdout_path), question)
                 for path in layout.shard_paths()]
        return combined(shard_runner(lift_rows_on_shard, tasks))


def lift_rows_on_shard(task: ShardLiftTask) -> LiftRows:
    """A shard's task, reading the shard only."""
    with open_warehouse(Path(task.shard_path), read_only=True) as con:
        con.execute(read_sql("queries/contract_macros.sql"))
        return lift_rows_in(con, pq.read_table(task.exported_ids_path),
                            pq.read_table(task.holdout_path), task.question)


def combined(parts: list[LiftRows]) -> LiftRows:
    """Every place's rows as one, sorted as one machine's query sorts them."""
    return LiftRows(gathered([part.treated for part in parts], ["file_id", "person_id"]),
                    gathered([part.converted for part in parts], ["person_id"]))
