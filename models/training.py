"""Train, evaluate, log, register and (by default) promote a propensity model.

Plain functions with typed settings: the CLI and the Prefect flows call them the same way, and
they need neither Prefect nor a terminal.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from core.contract import INTENT_EVENT_TYPES
from core.home import NorrutHome
from features.catalog import FEATURE_NAMES, FEATURE_SET_VERSION, feature_list_text
from models.datasets import (
    SnapshotPlan,
    build_training_sets,
    check_positives,
    feature_matrix,
    fit_plan_to_data,
    labelled_snapshot,
    plan_snapshots,
)
from models.estimators import (
    LightGBMParams,
    blend,
    calibrate,
    choose_blend_weight,
    fit_baseline,
    fit_lightgbm,
    search_lightgbm_params,
)
from models.leakage import MAX_SINGLE_FEATURE_AUC, check_no_leaking_feature
from models.metrics import evaluate
from models.promotion import PromotionResult, promote_version
from models.threads import configure_threads
from models.tracking import (
    DEFAULT_EXPERIMENT,
    DEFAULT_MODEL_NAME,
    ensure_experiment,
    fail_abandoned_runs,
    owner_tags,
    resolve_tracking,
    use_tracking,
)
from warehouse.db import open_warehouse


class TrainSettings(BaseModel):
    """Everything a training run depends on; all of it is logged with the run."""

    model_config = ConfigDict(frozen=True)

    as_of: date = Field(description="Scoring date: every snapshot and label window lies before it")
    horizon_days: int = Field(14, ge=1, le=180)
    intent_types: tuple[str, ...] = INTENT_EVENT_TYPES
    # Six weekly snapshots ranked better than four on a simulated 50,000-person world
    # (bench/results/model.md); snapshots before the first event are dropped (fit_plan_to_data).
    n_training_snapshots: int = Field(6, ge=1, le=52, description="At most this many")
    snapshot_interval_days: int = Field(7, ge=1)
    min_positives: int = Field(100, ge=1)
    optuna_trials: int = Field(0, ge=0)
    lightgbm: LightGBMParams = LightGBMParams()
    blend_with_baseline: bool = Field(
        True, description="Blend LightGBM's log-odds with the logistic baseline's, the weight "
                          "chosen on the validation snapshot (LightGBM alone when that is best)")
    max_single_feature_auc: float = MAX_SINGLE_FEATURE_AUC
    model_name: str = DEFAULT_MODEL_NAME
    experiment_name: str = DEFAULT_EXPERIMENT
    tracking_uri: str | None = None
    artifact_location: str | None = None
    promote: bool = True
    seed: int = 0


class TrainResult(BaseModel):
    run_id: str
    model_name: str
    version: str
    tracking_uri: str
    snapshots: dict[str, str]
    rows: dict[str, int]
    positive_rates: dict[str, float]
    best_iteration: int
    calibration: str
    lightgbm_weight: float = 1.0  # of LightGBM in the log-odds blend; 1.0 is LightGBM alone
    test_metrics: dict[str, float]
    baseline_test_metrics: dict[str, float]
    seconds: float
    promotion: PromotionResult | None = None
    # Runs left RUNNING by a killed training process, marked FAILED when this one started.
    abandoned_runs_failed: list[str] = []


def train_model(settings: TrainSettings, home: NorrutHome,
                on_step: Callable[[str], None] | None = None) -> TrainResult:
    """Build the snapshots, fit LightGBM and the logistic baseline, blend them (weight chosen on
    the validation snapshot) and calibrate the blend there, log everything to MLflow, register
    the model and, if settings.promote, run the promotion step.

    Raises TrainingDataError or LeakageError before anything is registered, so the champion
    stays untouched when the data cannot support a sound model. `on_step` hears each stage's
    name (for progress displays)."""
    step = on_step or (lambda name: None)
    configure_threads()
    started = time.perf_counter()
    tracking_uri, artifact_location = resolve_tracking(home, settings.tracking_uri,
                                                       settings.artifact_location)
    abandoned = fail_abandoned_runs(tracking_uri, settings.experiment_name)
    plan = plan_snapshots(settings.as_of, settings.horizon_days, settings.n_training_snapshots,
                          settings.snapshot_interval_days)
    step("building features and labels for each snapshot")
    with open_warehouse(home.warehouse_path) as con:
        plan = fit_plan_to_data(con, plan)
        sets = build_training_sets(con, plan, settings.intent_types)
    check_positives(sets, settings.min_positives)

    X_train, y_train = feature_matrix(sets.training), _labels(sets.training)
    X_valid, y_valid = feature_matrix(sets.validation), _labels(sets.validation)
    X_test, y_test = feature_matrix(sets.test), _labels(sets.test)
    step("checking for label leakage")
    single_feature_aucs = check_no_leaking_feature(X_valid, y_valid, settings.max_single_feature_auc)

    params = settings.lightgbm
    search_auc = None
    if settings.optuna_trials:
        step(f"searching parameters ({settings.optuna_trials} trials)")
        params, search_auc = search_lightgbm_params(X_train, y_train, X_valid, y_valid,
                                                    settings.optuna_trials, params, settings.seed)
    step("fitting LightGBM, the baseline, their blend and calibration")
    booster_model = fit_lightgbm(X_train, y_train, X_valid, y_valid, params, settings.seed)
    baseline = fit_baseline(X_train, y_train)
    lightgbm_weight, blend_aucs = 1.0, {}
    if settings.blend_with_baseline:
        lightgbm_weight, blend_aucs = choose_blend_weight(booster_model, baseline, X_valid,
                                                          y_valid)
    model, calibration = calibrate(blend(booster_model, baseline, lightgbm_weight),
                                   X_valid, y_valid)

    p_test = model.predict_proba(X_test)[:, 1]
    p_baseline = baseline.predict_proba(X_test)[:, 1]
    test_metrics = evaluate(y_test, p_test)
    baseline_metrics = evaluate(y_test, p_baseline)

    step("logging the run and registering the model")
    run_id, version = _log_and_register(
        settings, tracking_uri, artifact_location, plan, sets, params, booster_model, model,
        calibration, lightgbm_weight, blend_aucs, X_train, X_test, y_test, p_test, p_baseline,
        test_metrics, baseline_metrics, single_feature_aucs, search_auc,
    )
    result = TrainResult(
        run_id=run_id, model_name=settings.model_name, version=version,
        tracking_uri=tracking_uri, snapshots=plan.as_params(),
        rows={"training": sets.training.height, "validation": sets.validation.height,
              "test": sets.test.height},
        positive_rates={"training": float(y_train.mean()), "validation": float(y_valid.mean()),
                        "test": float(y_test.mean())},
        best_iteration=int(booster_model.best_iteration_ or params.n_estimators),
        calibration=calibration, lightgbm_weight=lightgbm_weight, test_metrics=test_metrics,
        baseline_test_metrics=baseline_metrics, seconds=0.0, abandoned_runs_failed=abandoned,
    )
    if settings.promote:
        step("comparing with the champion")
        result.promotion = promote_version(tracking_uri, settings.model_name, version, sets.test,
                                           plan.test)
    result.seconds = time.perf_counter() - started
    return result


def promote(home: NorrutHome, version: str | None = None, model_name: str = DEFAULT_MODEL_NAME,
            tracking_uri: str | None = None) -> PromotionResult:
    """The separate promotion step for a registered version (default: the newest): rebuilds the
    version's out-of-time test snapshot from the warehouse and compares it with the champion."""
    from mlflow import MlflowClient

    tracking_uri, _ = resolve_tracking(home, tracking_uri, None)
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    if version is None:
        versions = client.search_model_versions(f"name = '{model_name}'")
        if not versions:
            raise LookupError(f"no registered versions of {model_name!r}; run `norrut train`")
        version = str(max(int(v.version) for v in versions))
    run = client.get_run(client.get_model_version(model_name, version).run_id)
    test_snapshot = date.fromisoformat(run.data.params["test_snapshot"])
    horizon_days = int(run.data.params["horizon_days"])
    intent_types = tuple(run.data.params["intent_types"].split(","))
    configure_threads()
    with open_warehouse(home.warehouse_path) as con:
        test_frame = labelled_snapshot(con, test_snapshot, horizon_days, intent_types)
    return promote_version(tracking_uri, model_name, version, test_frame, test_snapshot)


def typical_input(X: pd.DataFrame) -> pd.DataFrame:
    """The model's input example: one row of per-feature means over `X`, to 4 significant
    digits. MLflow keeps the example (input_example.json, serving_input_example.json), so it
    must show the columns and typical values without being any person's row."""
    means = X.mean(skipna=True)
    return pd.DataFrame([[float(f"{value:.4g}") for value in means]], columns=X.columns)


def _labels(frame: pl.DataFrame) -> np.ndarray:
    return frame["label"].cast(pl.Int8).to_numpy()


def _log_and_register(settings: TrainSettings, tracking_uri: str, artifact_location: str | None,
                      plan: SnapshotPlan, sets, params: LightGBMParams, booster_model, model,
                      calibration: str, lightgbm_weight: float, blend_aucs: dict[float, float],
                      X_train, X_test, y_test, p_test, p_baseline,
                      test_metrics: dict[str, float], baseline_metrics: dict[str, float],
                      single_feature_aucs: dict[str, float],
                      search_auc: float | None) -> tuple[str, str]:
    import lightgbm
    import mlflow
    import mlflow.data
    import mlflow.sklearn
    import sklearn
    from mlflow.models import infer_signature

    from models import plots

    use_tracking(tracking_uri)
    experiment_id = ensure_experiment(settings.experiment_name, artifact_location)
    with mlflow.start_run(experiment_id=experiment_id, tags=owner_tags()) as run:
        mlflow.log_params({
            "model": ("lightgbm.LGBMClassifier + CalibratedClassifierCV" if lightgbm_weight == 1
                      else "LogOddsBlend(LGBMClassifier, logistic baseline) + "
                           "CalibratedClassifierCV"),
            "lightgbm_weight": lightgbm_weight,
            "blend_with_baseline": settings.blend_with_baseline,
            "baseline": "logistic regression (median impute, signed log1p, standardise)",
            "feature_set_version": FEATURE_SET_VERSION,
            "n_features": len(FEATURE_NAMES),
            **plan.as_params(),
            "horizon_days": settings.horizon_days,
            "intent_types": ",".join(settings.intent_types),
            "n_training_snapshots": settings.n_training_snapshots,
            "snapshot_interval_days": settings.snapshot_interval_days,
            "min_positives": settings.min_positives,
            "optuna_trials": settings.optuna_trials,
            "seed": settings.seed,
            "calibration": calibration,
            "best_iteration": booster_model.best_iteration_,
            **{f"lgbm_{key}": value for key, value in params.model_dump().items()},
            **{f"rows_{name}": frame.height for name, frame in
               (("training", sets.training), ("validation", sets.validation), ("test", sets.test))},
            **{f"positive_rate_{name}": round(float(frame["label"].mean()), 6) for name, frame in
               (("training", sets.training), ("validation", sets.validation), ("test", sets.test))},
        })
        # Digests of what the model learned from; identifiers are dropped before logging.
        for context, frame in (("training", sets.training), ("validation", sets.validation),
                               ("test", sets.test)):
            dataset = mlflow.data.from_pandas(
                feature_matrix(frame).assign(label=frame["label"].cast(pl.Float64).to_numpy()),
                name=f"person_features_{context}", targets="label",
            )
            mlflow.log_input(dataset, context=context)
        mlflow.log_metrics({f"test_{key}": value for key, value in test_metrics.items()})
        mlflow.log_metrics({f"baseline_test_{key}": value for key, value in baseline_metrics.items()})
        mlflow.log_metric("max_single_feature_auc_validation", max(single_feature_aucs.values()))
        mlflow.log_metrics({f"validation_auc_lightgbm_weight_{weight:.2f}": auc
                            for weight, auc in blend_aucs.items()})
        if search_auc is not None:
            mlflow.log_metric("optuna_best_validation_auc", search_auc)

        with tempfile.TemporaryDirectory(prefix="norrut-run-") as folder:
            out = Path(folder)
            (out / "feature_list.txt").write_text(feature_list_text(), encoding="utf-8")
            (out / "single_feature_auc_validation.json").write_text(
                json.dumps(single_feature_aucs, indent=1), encoding="utf-8")
            scores = {"model (calibrated)": p_test, "logistic baseline": p_baseline}
            plots.calibration_curve_png(out / "calibration_curve.png", y_test, scores)
            plots.gains_and_lift_png(out / "cumulative_gains_lift.png", y_test, scores)
            gains = booster_model.booster_.feature_importance(importance_type="gain")
            plots.feature_importance_png(out / "feature_importance.png", list(FEATURE_NAMES), gains)
            sample = X_test.sample(n=min(2000, len(X_test)), random_state=settings.seed)
            contributions = booster_model.predict(sample, pred_contrib=True)
            plots.shap_summary_png(out / "shap_summary.png", sample, contributions)
            mlflow.log_artifacts(folder)

        input_example = typical_input(X_train)
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
            signature=infer_signature(input_example, model.predict_proba(input_example)[:, 1]),
            input_example=input_example,
            registered_model_name=settings.model_name,
            pip_requirements=[f"lightgbm=={lightgbm.__version__}",
                              f"scikit-learn=={sklearn.__version__}",
                              f"mlflow=={mlflow.__version__}"],
        )
        version = str(info.registered_model_version)
        client = mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        for key, value in (("feature_set_version", FEATURE_SET_VERSION),
                           ("test_snapshot", plan.test.isoformat()),
                           ("test_roc_auc", f"{test_metrics['roc_auc']:.4f}")):
            client.set_model_version_tag(settings.model_name, version, key, value)
        return run.info.run_id, version
