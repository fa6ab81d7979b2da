"""Score every eligible person with the champion model and store the scores in the warehouse."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from activation.exporters.base import AUDIENCE_COLUMNS
from activation.settings import ScoreSettings
from core.engine import ShardRunner, given_or_configured, run_here, task_threads
from models.prediction import scorer_for
from models.registry import LoadedModel, load_champion
from models.settings import DEFAULT_MODEL_NAME
from models.threads import configure_threads
from warehouse.db import open_warehouse
from warehouse.shards import ShardLayout, read_layout
from warehouse.sql_files import read_sql


class NoFeaturesError(LookupError):
    """The feature table holds no eligible person for the requested as-of date."""


@dataclass(frozen=True)
class ScoreResult:
    as_of: date
    model_name: str
    model_version: str
    model_run_id: str
    persons_scored: int
    scoring_seconds: float
    total_seconds: float
    out_path: Path | None


def feature_matrix(frame: pl.DataFrame, feature_names: list[str]) -> np.ndarray:
    """The model's columns in its order as one C-contiguous float32 array (nulls become NaN)."""
    missing = [name for name in feature_names if name not in frame.columns]
    if missing:
        raise ValueError(
            f"the champion model needs features missing from features.person_features: {missing}"
        )
    selected = frame.select(pl.col(name).cast(pl.Float32) for name in feature_names)
    return np.ascontiguousarray(selected.to_numpy(order="c"), dtype=np.float32)


def score(settings: ScoreSettings,
          progress: Callable[[str, int, int], None] | None = None,
          shard_runner: ShardRunner | None = None) -> ScoreResult:
    """The score job: every eligible person of the settings' home, as of their (resolved) date.
    `progress` hears each step as it starts: (step, steps done, steps in all), then
    ("done", n, n)."""
    if settings.as_of is None:
        raise ValueError("resolve the as-of date first (warehouse.as_of.resolve_as_of)")
    home = settings.norrut_home()
    on_step = None
    if progress is not None:
        # score_persons' steps: read, load the model, score, store, and the ranked list (a
        # sharded warehouse's shards read and score in one step).
        sharded = read_layout(home.warehouse_path) is not None
        total = (3 if sharded else 4) + (settings.out is not None)
        started: list[str] = []

        def on_step(name: str) -> None:
            progress(name, len(started), total)
            started.append(name)

    result = score_persons(home.warehouse_path, settings.as_of,
                           settings.tracking_uri or home.mlflow_tracking_uri, settings.model_name,
                           settings.out, on_step, shard_runner)
    if progress is not None:
        progress(f"scored {result.persons_scored:,} persons", len(started), len(started))
    return result


def score_persons(
    warehouse_path: str | os.PathLike[str],
    as_of: date,
    tracking_uri: str,
    model_name: str = DEFAULT_MODEL_NAME,
    out: str | os.PathLike[str] | None = None,
    on_step: Callable[[str], None] | None = None,
    shard_runner: ShardRunner | None = None,
) -> ScoreResult:
    """Score every eligible person for `as_of` with the champion and store the scores (a
    sharded warehouse's shards by `shard_runner` when given, else on the cluster
    $NORRUT_DASK_SCHEDULER names, else here).

    A rerun for the same as-of date and model version replaces that run's scores. With `out`,
    the ranked list is also written as the contract's generic CSV.
    """
    step = on_step or (lambda _name: None)
    started = time.perf_counter()
    configure_threads()  # before the model load imports LightGBM (OpenMP reads it once)
    layout = read_layout(warehouse_path)
    if layout is not None:
        return _score_shards(warehouse_path, layout, as_of, tracking_uri, model_name, out, step,
                             started, shard_runner)
    with open_warehouse(warehouse_path) as con:
        step("reading features of eligible persons")
        frame = con.execute(_query("features_of_eligible"), {"as_of": as_of}).pl()
        if frame.is_empty():
            # said before the model is fetched: a missing build is the user's next step
            raise _no_features(as_of)
        step("loading the champion model")
        champion = load_champion(tracking_uri, model_name)
        step(f"scoring {frame.height:,} persons")
        matrix = feature_matrix(frame, champion.feature_names)
        scoring_started = time.perf_counter()
        scores = scorer_for(champion.model).scores(matrix)
        scoring_seconds = time.perf_counter() - scoring_started
        out_path = _stored(con, frame, scores, as_of, champion, out, step)
    return ScoreResult(as_of, champion.name, champion.version, champion.run_id, frame.height,
                       scoring_seconds, time.perf_counter() - started, out_path)


def _no_features(as_of: date) -> NoFeaturesError:
    return NoFeaturesError(
        f"no eligible person has features for {as_of.isoformat()}; "
        f"build them first: norrut features build --as-of {as_of.isoformat()}"
    )


def _stored(con, frame: pl.DataFrame, scores: np.ndarray, as_of: date, champion: LoadedModel,
            out: str | os.PathLike[str] | None, step: Callable[[str], None]) -> Path | None:
    """The scores stored (one transaction) and, given `out`, the ranked list written there."""
    step("storing scores")
    _store_scores(con, frame, scores, as_of, champion)
    if out is None:
        return None
    step("writing the ranked list")
    ranked = con.execute(_query("ranked_scores"), {
        "as_of": as_of, "model_name": champion.name, "model_version": champion.version,
    }).to_arrow_table()
    return write_generic_csv(ranked, Path(out))


@dataclass(frozen=True)
class ShardScoring:
    """A shard's task of a scoring run: its path and the champion, never a connection."""

    shard_path: str
    as_of: date
    # loaded from MLflow once, by the command: every shard scores with the same object, and a
    # worker imports no MLflow (a fresh worker's first import of it cost seconds a shard)
    champion: LoadedModel


def _score_shards(warehouse_path: str | os.PathLike[str], layout: ShardLayout, as_of: date,
                  tracking_uri: str, model_name: str, out: str | os.PathLike[str] | None,
                  step: Callable[[str], None], started: float,
                  shard_runner: ShardRunner | None) -> ScoreResult:
    """score_persons of a sharded warehouse: each shard scores its eligible persons with the
    champion loaded here (so every shard uses the same version, even if the alias moves
    meanwhile); the main warehouse stores them all in one transaction, as one machine."""
    step("loading the champion model")
    champion = load_champion(tracking_uri, model_name)
    step(f"scoring the persons of {layout.shard_count} shards")
    tasks = [ShardScoring(str(path), as_of, champion) for path in layout.shard_paths()]
    scoring_started = time.perf_counter()
    with given_or_configured(shard_runner) as runner:
        scored = pl.concat((runner or run_here)(score_shard, tasks))
    scoring_seconds = time.perf_counter() - scoring_started
    if scored.is_empty():
        raise _no_features(as_of)
    with open_warehouse(warehouse_path) as con:
        out_path = _stored(con, scored, scored["score"].to_numpy(), as_of, champion, out, step)
    return ScoreResult(as_of, champion.name, champion.version, champion.run_id, scored.height,
                       scoring_seconds, time.perf_counter() - started, out_path)


def score_shard(task: ShardScoring) -> pl.DataFrame:
    """A shard's task: person_id, id_type and score of its eligible persons with features for
    the date (none for a shard without them), read without writing the shard."""
    configure_threads()
    with open_warehouse(task.shard_path, read_only=True) as con:
        frame = con.execute(_query("features_of_eligible"), {"as_of": task.as_of}).pl()
    if frame.is_empty():
        return pl.DataFrame(schema={"person_id": pl.String, "id_type": pl.String,
                                    "score": pl.Float64})
    champion = task.champion
    # one thread inside a Dask worker, as its DuckDB: each worker thread runs a shard task
    scores = scorer_for(champion.model).scores(feature_matrix(frame, champion.feature_names),
                                               task_threads())
    return frame.select("person_id", "id_type").with_columns(
        pl.Series("score", scores, dtype=pl.Float64))


def _store_scores(con, frame: pl.DataFrame, scores: np.ndarray, as_of: date,
                  champion: LoadedModel) -> None:
    scored_at = datetime.now(UTC)
    batch = pa.table({
        "person_id": frame["person_id"].to_arrow(),
        "id_type": frame["id_type"].to_arrow(),
        "score": pa.array(scores, pa.float64()),
    })
    run_key = {"as_of": as_of, "model_name": champion.name, "model_version": champion.version}
    con.register("scored_batch", batch)
    con.execute("begin transaction")
    try:
        con.execute(_query("delete_scores"), run_key)
        con.execute(_query("replace_scores"),
                    {**run_key, "run_id": champion.run_id, "scored_at": scored_at})
        con.execute(_query("upsert_scores_run"),
                    {**run_key, "run_id": champion.run_id, "persons": len(scores),
                     "metrics": json.dumps(champion.test_metrics), "scored_at": scored_at})
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.unregister("scored_batch")


def _query(name: str) -> str:
    return read_sql(f"activation/queries/{name}.sql")


def write_generic_csv(ranked: pa.Table, out: Path) -> Path:
    """The contract's generic CSV (person_id,id_type,score,rank,decile), written atomically."""
    out = out.expanduser().resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
    try:
        pl.from_arrow(ranked).select(AUDIENCE_COLUMNS).write_csv(partial)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return out
