"""Score every eligible person with the champion model and store the scores in the warehouse."""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from activation.champion import LoadedModel, load_champion_model
from models.threads import configure_threads
from warehouse.db import open_warehouse
from warehouse.sql_files import read_sql

DEFAULT_MODEL_NAME = "curious-about-working-here"
GENERIC_COLUMNS = ("person_id", "id_type", "score", "rank", "decile")

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


def predict_scores(model: object, features: np.ndarray, threads: int | None = None) -> np.ndarray:
    """Calibrated probabilities for a C-ordered float32 feature matrix, as float64 in 0..1.

    For the models training produces (an LGBMClassifier or a LogOddsBlend of it with the
    logistic baseline, bare or inside a binary CalibratedClassifierCV with sigmoid or isotonic
    calibration) the array goes straight to the LightGBM booster and the blend's folded
    logistic model, with no pandas, no sklearn validation and no (n, 2) probability frame, and
    the calibration is applied as one vectorised step; any other model takes `predict_proba`.
    Both give the same numbers."""
    threads = threads or os.cpu_count() or 1
    _set_threads(model, threads)
    parts = _responses_and_calibrators(model)
    if parts is None:
        with warnings.catch_warnings():
            # Fitted on a named frame, predicting on the same columns as an array: not a problem.
            warnings.filterwarnings("ignore", message="X does not have valid feature names")
            probabilities = np.asarray(model.predict_proba(features))[:, 1]
    else:
        probabilities = _predict_direct(parts, features, threads)
    return np.clip(probabilities.astype(np.float64, copy=False), 0.0, 1.0)


# What a fast-path model computes from the float32 matrix with a number of threads: the
# probability of the positive class, or the response its calibrator reads.
Response = Callable[[np.ndarray, int], np.ndarray]


def _responses_and_calibrators(model: object) -> list[tuple[Response, object | None]] | None:
    """[(response, calibrator of that response or None), ...] whose calibrated responses
    average to the model's positive-class probability, or None when the model is not one this
    fast path reproduces exactly."""
    bare = _response(model, calibrated=False)
    if bare is not None:
        return [(bare, None)]
    from sklearn.calibration import CalibratedClassifierCV, _SigmoidCalibration
    from sklearn.isotonic import IsotonicRegression

    if (not isinstance(model, CalibratedClassifierCV) or model.method not in ("sigmoid", "isotonic")
            or len(getattr(model, "classes_", ())) != 2):
        return None
    parts = []
    for calibrated in model.calibrated_classifiers_:
        inner = calibrated.estimator
        # sklearn calibrates decision_function (LightGBM's raw score, the blend's log-odds)
        # when the estimator has one, else the positive-class probability.
        response = _response(getattr(inner, "estimator", inner),
                             calibrated=hasattr(inner, "decision_function"))
        calibrators = calibrated.calibrators
        if (response is None or len(calibrators) != 1
                or not isinstance(calibrators[0], (_SigmoidCalibration, IsotonicRegression))
                or list(getattr(inner, "classes_", ())) != list(model.classes_)):
            return None
        parts.append((response, calibrators[0]))
    return parts or None


def _response(estimator: object, calibrated: bool) -> Response | None:
    """The estimator's log-odds (what its calibrator reads) when `calibrated`, else its
    positive-class probability, computed straight from the array; None for an estimator this
    fast path does not know."""
    from models.estimators import LogOddsBlend

    if isinstance(estimator, LogOddsBlend):
        if _lightgbm_booster(estimator.lightgbm_model) is None:
            return None
        if calibrated:
            return estimator.decision_function
        return lambda matrix, threads: estimator.positive_probability(
            estimator.decision_function(matrix, threads))
    booster = _lightgbm_booster(estimator)
    if booster is None:
        return None
    # Booster.predict with no num_iteration uses the best iteration, as predict_proba does.
    return lambda matrix, threads: booster.predict(matrix, raw_score=calibrated,
                                                   num_threads=threads)


def _lightgbm_booster(estimator: object) -> object | None:
    """The fitted booster of a binary LGBMClassifier (which predicts its best iteration)."""
    if type(estimator).__name__ != "LGBMClassifier" or getattr(estimator, "n_classes_", 0) != 2:
        return None
    return getattr(estimator, "booster_", None)


def _predict_direct(parts: list[tuple[Response, object | None]], features: np.ndarray,
                    threads: int) -> np.ndarray:
    from scipy.special import expit

    matrix = np.ascontiguousarray(features, dtype=np.float32)
    total = None
    for response_of, calibrator in parts:
        response = response_of(matrix, threads)
        if calibrator is None:
            calibrated = response
        elif hasattr(calibrator, "a_"):
            calibrated = expit(-(calibrator.a_ * response + calibrator.b_))
        else:
            calibrated = calibrator.predict(response)
        total = calibrated if total is None else total + calibrated
    return total / len(parts)


def _set_threads(model: object, threads: int) -> None:
    """Every estimator inside the model (calibration wrappers included) predicts with `threads`."""
    pending, seen = [model], set()
    while pending:
        estimator = pending.pop()
        if estimator is None or id(estimator) in seen:
            continue
        seen.add(id(estimator))
        if hasattr(estimator, "get_params") and "n_jobs" in estimator.get_params(deep=False):
            estimator.set_params(n_jobs=threads)
        pending.append(getattr(estimator, "estimator", None))
        pending.extend(getattr(estimator, "calibrated_classifiers_", None) or [])


def feature_matrix(frame: pl.DataFrame, feature_names: list[str]) -> np.ndarray:
    """The model's columns in its order as one C-contiguous float32 array (nulls become NaN)."""
    missing = [name for name in feature_names if name not in frame.columns]
    if missing:
        raise ValueError(
            f"the champion model needs features missing from features.person_features: {missing}"
        )
    selected = frame.select(pl.col(name).cast(pl.Float32) for name in feature_names)
    return np.ascontiguousarray(selected.to_numpy(order="c"), dtype=np.float32)


def score_persons(
    warehouse_path: str | os.PathLike[str],
    as_of: date,
    tracking_uri: str,
    model_name: str = DEFAULT_MODEL_NAME,
    out: str | os.PathLike[str] | None = None,
    on_step: Callable[[str], None] | None = None,
) -> ScoreResult:
    """Score every eligible person for `as_of` with the champion and store the scores.

    A rerun for the same as-of date and model version replaces that run's scores. With `out`,
    the ranked list is also written as the contract's generic CSV.
    """
    step = on_step or (lambda _name: None)
    started = time.perf_counter()
    configure_threads()  # before the model load imports LightGBM (OpenMP reads it once)
    step("loading the champion model")
    champion = load_champion_model(tracking_uri, model_name)
    with open_warehouse(warehouse_path) as con:
        step("reading features of eligible persons")
        frame = con.execute(_query("features_of_eligible"), {"as_of": as_of}).pl()
        if frame.is_empty():
            raise NoFeaturesError(
                f"no eligible person has features for {as_of.isoformat()}; "
                "build features for that date first"
            )
        step(f"scoring {frame.height:,} persons")
        matrix = feature_matrix(frame, champion.feature_names)
        scoring_started = time.perf_counter()
        scores = predict_scores(champion.model, matrix)
        scoring_seconds = time.perf_counter() - scoring_started
        step("storing scores")
        _store_scores(con, frame, scores, as_of, champion)
        out_path = None
        if out is not None:
            step("writing the ranked list")
            ranked = con.execute(_query("ranked_scores"), {
                "as_of": as_of, "model_name": champion.name, "model_version": champion.version,
            }).to_arrow_table()
            out_path = write_generic_csv(ranked, Path(out))
    return ScoreResult(as_of, champion.name, champion.version, champion.run_id, frame.height,
                       scoring_seconds, time.perf_counter() - started, out_path)


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
        pl.from_arrow(ranked).select(GENERIC_COLUMNS).write_csv(partial)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return out
