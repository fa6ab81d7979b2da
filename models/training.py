"""Train, evaluate, log, register and (by default) promote a propensity model.

Plain functions with typed settings: the CLI and the Prefect flows call them the same way, and
they need neither Prefect nor a terminal.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
from pydantic import BaseModel

from core.engine import (
    ShardRunner,
    configured_shard_runner,
    dask_client,
    given_or_configured,
    run_here,
)
from core.home import NorrutHome
from features.catalog import FEATURE_NAMES, FEATURE_SET_VERSION, feature_list_text
from models.datasets import (
    RowBounds,
    SnapshotPlan,
    TrainingSets,
    build_training_sets,
    check_positives,
    data_digest,
    feature_matrix,
    fit_plan_to_data,
    labelled_snapshot,
    plan_snapshots,
)
from models.distributed import (
    StagedTrainingSets,
    check_distributed_fit,
    fit_lightgbm_on_cluster,
    staged_training_sets_of_shards,
    training_rows_staging,
)
from models.estimators import (
    blend,
    calibrate,
    choose_blend_weight,
    fit_baseline,
    fit_lightgbm,
    search_lightgbm_params,
)
from models.leakage import check_no_leaking_feature
from models.metrics import SCALAR_METRIC_KEYS, evaluate, gains_by_decile
from models.promotion import PromotionResult, promote_version
from models.propensity import MLFLOW_ARTIFACT, PropensityModel
from models.settings import LightGBMParams, PromoteSettings, TrainSettings
from models.sharded import labelled_snapshots_of_shards, training_sets_of_shards
from models.threads import configure_threads
from models.tracking import (
    FLOW_RUN_URL_TAG,
    ensure_experiment,
    fail_abandoned_runs,
    mlflow_notices_silenced,
    owner_tags,
    resolve_tracking,
    run_context_tags,
    use_tracking,
)
from warehouse.db import open_warehouse
from warehouse.shards import read_layout


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


@dataclass(frozen=True)
class TrainingOutcome:
    """What one training run fitted and measured, before anything is logged: the sets, the
    fitted parts, the registered model and its scores on the test snapshot. The MLflow logging
    steps and the TrainResult all read it."""

    settings: TrainSettings
    plan: SnapshotPlan
    sets: TrainingSets
    X_train: pd.DataFrame
    X_test: pd.DataFrame
    y_train: np.ndarray
    y_valid: np.ndarray
    y_test: np.ndarray
    single_feature_aucs: dict[str, float]  # on the validation snapshot (the leakage check)
    params: LightGBMParams  # the search's best when there was one, else the settings'
    search_auc: float | None  # the search's best validation AUC; None without a search
    booster_model: Any  # the fitted LGBMClassifier
    model: PropensityModel  # what is registered: LightGBM (or its blend), calibrated
    calibration: str
    lightgbm_weight: float
    blend_aucs: dict[float, float]  # validation AUC per LightGBM weight tried
    p_test: np.ndarray
    p_baseline: np.ndarray  # the logistic baseline's probabilities on the test snapshot
    test_metrics: dict[str, float]
    baseline_metrics: dict[str, float]
    # A distributed fit's: how many training rows the booster learned from, and how many of them
    # were positive (sets.training is then the in-memory sample); None on one machine, where
    # sets.training is every row.
    staged_training: tuple[int, int] | None = None

    @property
    def boosting_rounds(self) -> int:
        """The booster's rounds: where early stopping stopped it, else all it ran."""
        return int(self.booster_model.best_iteration_
                   or self.booster_model.booster_.current_iteration())

    def training_rows(self) -> tuple[int, int]:
        """Every training row's count and its positives' (the staged rows' in a distributed
        fit)."""
        return self.staged_training or (len(self.y_train), int(self.y_train.sum()))

    def named_sets(self) -> tuple[tuple[str, pl.DataFrame], ...]:
        return (("training", self.sets.training), ("validation", self.sets.validation),
                ("test", self.sets.test))


def train(settings: TrainSettings,
          progress: Callable[[str, int, int], None] | None = None,
          shard_runner: ShardRunner | None = None) -> TrainResult:
    """The train job: train_model on the settings' home, as of their (resolved) date.
    `progress` hears each stage as it starts: (stage, stages done, stages in all), then
    ("done", n, n). A sharded warehouse's shard tasks run by `shard_runner` when given (a flow
    run's), else on the cluster $NORRUT_DASK_SCHEDULER names, else here."""
    if progress is None:
        return train_model(settings, settings.norrut_home(), shard_runner=shard_runner)
    # train_model's stages: features and labels, leakage, the search (with trials), the fit,
    # logging, and the comparison (when promoting).
    total = 4 + bool(settings.optuna_trials) + bool(settings.promote)
    started: list[str] = []

    def on_step(name: str) -> None:
        progress(name, len(started), max(total, len(started) + 1))
        started.append(name)

    result = train_model(settings, settings.norrut_home(), on_step, shard_runner)
    progress("done", len(started), len(started))
    return result


def train_model(settings: TrainSettings, home: NorrutHome,
                on_step: Callable[[str], None] | None = None,
                shard_runner: ShardRunner | None = None) -> TrainResult:
    """Build the snapshots, fit LightGBM and the logistic baseline, blend them (weight chosen on
    the validation snapshot) and calibrate the blend there, log everything to MLflow, register
    the model and, if settings.promote, run the promotion step.

    Raises TrainingDataError or LeakageError before anything is registered, so the champion
    stays untouched when the data cannot support a sound model. `on_step` hears each stage's
    name (for progress displays). With settings.distributed_fit the booster is fitted on the
    cluster from the shards' staged rows (models/distributed.py), the rest on bounded samples;
    DistributedFitError at once without a cluster or shards."""
    if settings.as_of is None:
        raise ValueError("resolve the as-of date first (warehouse.as_of.resolve_as_of)")
    if settings.distributed_fit:  # refused at once when there is no cluster or no shards
        engine, layout = check_distributed_fit(home.warehouse_path)
    step = on_step or (lambda name: None)
    configure_threads()
    started = time.perf_counter()
    tracking_uri, artifact_location = resolve_tracking(home, settings.tracking_uri,
                                                       settings.artifact_location)
    abandoned = fail_abandoned_runs(tracking_uri, settings.experiment_name)
    plan = plan_snapshots(settings.as_of, settings.horizon_days, settings.n_training_snapshots,
                          settings.snapshot_interval_days)
    step("building features and labels for each snapshot")
    if settings.distributed_fit:
        with dask_client(engine) as client, training_rows_staging(layout) as staging:
            plan, staged = staged_training_sets_of_shards(
                home.warehouse_path, layout, plan, settings.intent_types, client, staging,
                settings.distributed_sample_rows, settings.seed, settings.max_evaluation_rows)
            sets = staged.sets
            check_positives(sets, settings.min_positives)
            outcome = dataclasses.replace(
                fit_and_evaluate(settings, plan, sets, step, functools.partial(
                    _fit_on_cluster, client, staged, settings.distributed_boosting_rounds)),
                staged_training=(staged.training_rows, staged.training_positives))
    else:
        plan, sets = _training_sets(home, plan, settings.intent_types, shard_runner,
                                    RowBounds(settings.max_training_rows,
                                              settings.max_evaluation_rows))
        check_positives(sets, settings.min_positives)
        outcome = fit_and_evaluate(settings, plan, sets, step)
    step("logging the run and registering the model")
    run_id, version = _log_and_register(outcome, tracking_uri, artifact_location)
    result = _result(outcome, run_id, version, tracking_uri, abandoned)
    if settings.promote:
        step("comparing with the champion")
        result.promotion = promote_version(tracking_uri, settings.model_name, version, sets.test,
                                           plan.test)
    result.seconds = time.perf_counter() - started
    return result


def _fit_on_cluster(client, staged: StagedTrainingSets, rounds: int, X_train, y_train,
                    X_valid, y_valid, params: LightGBMParams, seed: int):
    """fit_lightgbm's part in a distributed fit: the booster fitted on every staged training row
    on the cluster (the in-memory sample and the validation rows are not its data)."""
    return fit_lightgbm_on_cluster(client, staged.training_rows_paths, params, rounds, seed)


def _training_sets(home: NorrutHome, plan: SnapshotPlan, intent_types: tuple[str, ...],
                   shard_runner: ShardRunner | None,
                   bounds: RowBounds) -> tuple[SnapshotPlan, TrainingSets]:
    """The plan fitted to the data and its sets within `bounds`: from the home's warehouse, or
    gathered from its shards when it is sharded (by `shard_runner` when given, else on the Dask
    cluster $NORRUT_DASK_SCHEDULER names, else here)."""
    layout = read_layout(home.warehouse_path)
    if layout is None:
        with open_warehouse(home.warehouse_path) as con:
            plan = fit_plan_to_data(con, plan)
            return plan, build_training_sets(con, plan, intent_types, bounds)
    with given_or_configured(shard_runner) as runner:
        return training_sets_of_shards(home.warehouse_path, layout, plan, intent_types,
                                       runner or run_here, bounds)


def promote(settings: PromoteSettings) -> PromotionResult:
    """The separate promotion step for a registered version (default: the newest): rebuilds the
    version's out-of-time test snapshot from the warehouse and compares it with the champion."""
    from mlflow import MlflowClient

    home, version, model_name = settings.norrut_home(), settings.version, settings.model_name
    tracking_uri, _ = resolve_tracking(home, settings.tracking_uri, None)
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
    # the test rows the version was judged on at training (a run before the bound: every row)
    max_rows = (int(run.data.params["max_evaluation_rows"])
                if "max_evaluation_rows" in run.data.params else None)
    configure_threads()
    layout = read_layout(home.warehouse_path)
    if layout is None:
        with open_warehouse(home.warehouse_path) as con:
            test_frame = labelled_snapshot(con, test_snapshot, horizon_days, intent_types,
                                           max_rows)
    else:
        with configured_shard_runner() as shard_runner:
            test_frame, = labelled_snapshots_of_shards(home.warehouse_path, layout,
                                                       (test_snapshot,), horizon_days,
                                                       intent_types, shard_runner or run_here,
                                                       (max_rows,))
    return promote_version(tracking_uri, model_name, version, test_frame, test_snapshot)


def typical_input(X: pd.DataFrame) -> pd.DataFrame:
    """The model's input example: one row of per-feature means over `X`, to 4 significant
    digits. MLflow keeps the example (input_example.json, serving_input_example.json), so it
    must show the columns and typical values without being any person's row."""
    means = X.mean(skipna=True)
    return pd.DataFrame([[float(f"{value:.4g}") for value in means]], columns=X.columns)


def _labels(frame: pl.DataFrame) -> np.ndarray:
    return frame["label"].cast(pl.Int8).to_numpy()


def fit_and_evaluate(settings: TrainSettings, plan: SnapshotPlan, sets: TrainingSets,
                     on_step: Callable[[str], None] | None = None,
                     fit_booster: Callable[..., Any] = fit_lightgbm) -> TrainingOutcome:
    """Check for leakage, fit LightGBM (after a parameter search, with trials) and the baseline,
    blend and calibrate them on the validation snapshot, and score both on the test snapshot.
    Touches neither the warehouse nor MLflow: train_model logs and registers what it returns.
    `fit_booster` fits LightGBM as fit_lightgbm does (a distributed fit's on the cluster)."""
    step = on_step or (lambda name: None)
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
    booster_model = fit_booster(X_train, y_train, X_valid, y_valid, params, settings.seed)
    baseline = fit_baseline(X_train, y_train)
    lightgbm_weight, blend_aucs = 1.0, {}
    if settings.blend_with_baseline:
        lightgbm_weight, blend_aucs = choose_blend_weight(booster_model, baseline, X_valid,
                                                          y_valid)
    calibrated, calibration = calibrate(blend(booster_model, baseline, lightgbm_weight),
                                        X_valid, y_valid)
    model = PropensityModel.of(calibrated)

    p_test = model.predict_proba(X_test)[:, 1]
    p_baseline = baseline.predict_proba(X_test)[:, 1]
    return TrainingOutcome(
        settings=settings, plan=plan, sets=sets, X_train=X_train, X_test=X_test,
        y_train=y_train, y_valid=y_valid, y_test=y_test, single_feature_aucs=single_feature_aucs,
        params=params, search_auc=search_auc, booster_model=booster_model, model=model,
        calibration=calibration, lightgbm_weight=lightgbm_weight, blend_aucs=blend_aucs,
        p_test=p_test, p_baseline=p_baseline, test_metrics=evaluate(y_test, p_test),
        baseline_metrics=evaluate(y_test, p_baseline),
    )


def _result(outcome: TrainingOutcome, run_id: str, version: str, tracking_uri: str,
            abandoned: list[str]) -> TrainResult:
    """The run's summary, before promotion and with the time still to be set."""
    return TrainResult(
        run_id=run_id, model_name=outcome.settings.model_name, version=version,
        tracking_uri=tracking_uri, snapshots=outcome.plan.as_params(),
        rows={name: frame.height for name, frame in outcome.named_sets()}
        | {"training": outcome.training_rows()[0]},
        positive_rates={"training": float(outcome.y_train.mean()),
                        "validation": float(outcome.y_valid.mean()),
                        "test": float(outcome.y_test.mean())},
        best_iteration=outcome.boosting_rounds,
        calibration=outcome.calibration, lightgbm_weight=outcome.lightgbm_weight,
        test_metrics=outcome.test_metrics, baseline_test_metrics=outcome.baseline_metrics,
        seconds=0.0, abandoned_runs_failed=abandoned,
    )


# MLflow runs this file when it loads the model (a model from code); training never imports it.
MODEL_CODE = Path(__file__).with_name("mlflow_model.py")
RUN_AS_OF_TAG = "norrut.as_of"
RUN_FEATURE_SET_TAG = "norrut.feature_set_version"
RUN_DATA_HASH_TAG = "norrut.data_hash"


def _log_and_register(outcome: TrainingOutcome, tracking_uri: str,
                      artifact_location: str | None) -> tuple[str, str]:
    """One MLflow run, named train-<as-of> and tagged with where its data and code came from,
    with the outcome's parameters, input digests, metrics, pictures and model; the model
    registered, described and its version tagged. Returns the run id and the version."""
    import mlflow

    use_tracking(tracking_uri)
    experiment_id = ensure_experiment(outcome.settings.experiment_name, artifact_location)
    as_of = outcome.settings.as_of.isoformat()
    tags = {**owner_tags(), **run_context_tags(), RUN_AS_OF_TAG: as_of,
            RUN_FEATURE_SET_TAG: FEATURE_SET_VERSION, RUN_DATA_HASH_TAG: data_digest(outcome.sets)}
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"train-{as_of}", tags=tags,
                          description=_run_description(outcome, tags)) as run:
        _log_params(outcome)
        _log_inputs(outcome)
        _log_metrics(outcome)
        _log_artifacts(outcome)
        version = _log_model(outcome)
        client = mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        _tag_version(client, outcome, version, tags[RUN_DATA_HASH_TAG])
        _describe(client, outcome, version)
        return run.info.run_id, version


def _trained_on(outcome: TrainingOutcome) -> str:
    """What the model learned from, in a sentence (the run's and the version's descriptions)."""
    settings, plan = outcome.settings, outcome.plan
    rows, positives = outcome.training_rows()
    return (f"Trained as of {settings.as_of} on {len(plan.training)} snapshots "
            f"{settings.snapshot_interval_days} days apart "
            f"({plan.training[0]} to {plan.training[-1]}, {rows:,} person rows, "
            f"{positives:,} with intent within {settings.horizon_days} days), "
            f"feature set {FEATURE_SET_VERSION}; calibrated ({outcome.calibration}) on the "
            f"validation snapshot {plan.validation}, tested out of time on {plan.test} "
            f"({len(outcome.y_test):,} persons).")


def _test_figures(outcome: TrainingOutcome) -> str:
    metrics, baseline = outcome.test_metrics, outcome.baseline_metrics
    return (f"Test AUC {metrics['roc_auc']:.4f} (logistic baseline {baseline['roc_auc']:.4f}), "
            f"PR-AUC {metrics['pr_auc']:.4f}, lift at 10 % {metrics['lift_at_10pct']:.2f}, "
            f"log loss {metrics['log_loss']:.5f}, ECE {metrics['ece']:.4f}.")


def _run_description(outcome: TrainingOutcome, tags: dict[str, str]) -> str:
    """The run's description (markdown in the MLflow UI), with a link to its Prefect flow run."""
    lines = [_trained_on(outcome), "", _test_figures(outcome)]
    if FLOW_RUN_URL_TAG in tags:
        lines += ["", f"Prefect flow run: [{tags[FLOW_RUN_URL_TAG]}]({tags[FLOW_RUN_URL_TAG]})"]
    return "\n".join(lines)


def _describe(client, outcome: TrainingOutcome, version: str) -> None:
    """The registered model's description (what it predicts) and the version's (what it was
    trained on, its test metrics); promotion adds why it was or was not promoted."""
    settings = outcome.settings
    client.update_registered_model(settings.model_name, description=(
        f"Probability that a person takes a step towards working in northern Sweden (any of "
        f"{', '.join(settings.intent_types)}) within {settings.horizon_days} days of the "
        f"scoring date, from their pseudonymous engagement with the campaigns' films and "
        f"images. LightGBM (blended with a logistic baseline when that ranks better on the "
        f"validation snapshot), calibrated. Scoring uses the "
        f"version aliased champion (models:/{settings.model_name}@champion)."))
    client.update_model_version(settings.model_name, version,
                                description=f"{_trained_on(outcome)}\n\n{_test_figures(outcome)}")


def _log_params(outcome: TrainingOutcome) -> None:
    import mlflow

    settings = outcome.settings
    mlflow.log_params({
        "model": ("PropensityModel(LightGBM, calibrated)" if outcome.lightgbm_weight == 1
                  else "PropensityModel(LightGBM blended with the logistic baseline, "
                       "calibrated)"),
        "lightgbm_weight": outcome.lightgbm_weight,
        "blend_with_baseline": settings.blend_with_baseline,
        "baseline": "logistic regression (median impute, signed log1p, standardise)",
        "feature_set_version": FEATURE_SET_VERSION,
        "n_features": len(FEATURE_NAMES),
        **outcome.plan.as_params(),
        "horizon_days": settings.horizon_days,
        "intent_types": ",".join(settings.intent_types),
        "n_training_snapshots": settings.n_training_snapshots,
        "snapshot_interval_days": settings.snapshot_interval_days,
        "min_positives": settings.min_positives,
        "max_training_rows": settings.max_training_rows,
        "max_evaluation_rows": settings.max_evaluation_rows,
        "optuna_trials": settings.optuna_trials,
        "seed": settings.seed,
        "calibration": outcome.calibration,
        "best_iteration": outcome.boosting_rounds,
        **{f"lgbm_{key}": value for key, value in outcome.params.model_dump().items()},
        **{f"rows_{name}": frame.height for name, frame in outcome.named_sets()},
        **{f"positive_rate_{name}": round(float(frame["label"].mean()), 6)
           for name, frame in outcome.named_sets()},
    })
    if outcome.staged_training is not None:
        # The rows_ and positive_rate_ of training and validation above are the samples'.
        mlflow.log_params({"distributed_fit": True,
                           "distributed_boosting_rounds": settings.distributed_boosting_rounds,
                           "distributed_sample_rows": settings.distributed_sample_rows,
                           "rows_training_staged": outcome.staged_training[0]})


def _log_inputs(outcome: TrainingOutcome) -> None:
    """Digests of what the model learned from; identifiers are dropped before logging."""
    import mlflow
    import mlflow.data

    for context, frame in outcome.named_sets():
        dataset = mlflow.data.from_pandas(
            feature_matrix(frame).assign(label=frame["label"].cast(pl.Float64).to_numpy()),
            name=f"person_features_{context}", targets="label",
        )
        mlflow.log_input(dataset, context=context)


def _log_metrics(outcome: TrainingOutcome) -> None:
    """The scalar test metrics of model and baseline, and cumulative gain and lift as series
    with the decile as step (one chart each in the UI)."""
    import mlflow

    for prefix, metrics in (("test_", outcome.test_metrics),
                            ("baseline_test_", outcome.baseline_metrics)):
        mlflow.log_metrics({f"{prefix}{key}": metrics[key] for key in SCALAR_METRIC_KEYS})
        for decile, gain, lift in gains_by_decile(metrics):
            mlflow.log_metrics({f"{prefix}cumulative_gain": gain,
                                f"{prefix}cumulative_lift": lift}, step=decile)
    mlflow.log_metric("max_single_feature_auc_validation",
                      max(outcome.single_feature_aucs.values()))
    mlflow.log_metrics({f"validation_auc_lightgbm_weight_{weight:.2f}": auc
                        for weight, auc in outcome.blend_aucs.items()})
    if outcome.search_auc is not None:
        mlflow.log_metric("optuna_best_validation_auc", outcome.search_auc)


def _log_artifacts(outcome: TrainingOutcome) -> None:
    """The feature list, the single-feature AUCs and the pictures of the test snapshot."""
    import mlflow

    from models import plots

    with tempfile.TemporaryDirectory(prefix="norrut-run-") as folder:
        out = Path(folder)
        (out / "feature_list.txt").write_text(feature_list_text(), encoding="utf-8")
        (out / "single_feature_auc_validation.json").write_text(
            json.dumps(outcome.single_feature_aucs, indent=1), encoding="utf-8")
        scores = {"model (calibrated)": outcome.p_test, "logistic baseline": outcome.p_baseline}
        plots.calibration_curve_png(out / "calibration_curve.png", outcome.y_test, scores)
        plots.gains_and_lift_png(out / "cumulative_gains_lift.png", outcome.y_test, scores)
        plots.roc_curve_png(out / "roc_curve.png", outcome.y_test, scores)
        plots.precision_recall_png(out / "precision_recall_curve.png", outcome.y_test, scores)
        booster_model = outcome.booster_model
        gains = booster_model.booster_.feature_importance(importance_type="gain")
        plots.feature_importance_png(out / "feature_importance.png", list(FEATURE_NAMES), gains)
        sample = outcome.X_test.sample(n=min(2000, len(outcome.X_test)),
                                       random_state=outcome.settings.seed)
        contributions = booster_model.predict(sample, pred_contrib=True)
        plots.shap_summary_png(out / "shap_summary.png", sample, contributions)
        mlflow.log_artifacts(folder)
    rows = [(name, *row) for name, metrics in (("model", outcome.test_metrics),
                                               ("logistic baseline", outcome.baseline_metrics))
            for row in gains_by_decile(metrics)]
    columns = ("scores", "decile", "cumulative_gain", "cumulative_lift")
    mlflow.log_table(dict(zip(columns, map(list, zip(*rows, strict=True)), strict=True)),
                     artifact_file="gains_and_lift_by_decile.json")


def _log_model(outcome: TrainingOutcome) -> str:
    """Logs the PropensityModel as a pyfunc model from code (models/mlflow_model.py) with its
    files as the artifact, its signature and typical input, and registers it; its version."""
    import lightgbm
    import mlflow
    import mlflow.pyfunc
    import sklearn
    from mlflow.models import infer_signature

    input_example = typical_input(outcome.X_train)
    with tempfile.TemporaryDirectory(prefix="norrut-model-") as folder, mlflow_notices_silenced():
        files = outcome.model.save(Path(folder) / MLFLOW_ARTIFACT)
        info = mlflow.pyfunc.log_model(
            name=outcome.settings.model_name,
            python_model=str(MODEL_CODE),
            artifacts={MLFLOW_ARTIFACT: str(files)},
            signature=infer_signature(input_example,
                                      outcome.model.predict_proba(input_example)[:, 1]),
            input_example=input_example,
            registered_model_name=outcome.settings.model_name,
            pip_requirements=[f"lightgbm=={lightgbm.__version__}",
                              f"scikit-learn=={sklearn.__version__}",
                              f"mlflow=={mlflow.__version__}"],
        )
    return str(info.registered_model_version)


def _tag_version(client, outcome: TrainingOutcome, version: str, data_hash: str) -> None:
    for key, value in (("feature_set_version", FEATURE_SET_VERSION),
                       ("as_of", outcome.settings.as_of.isoformat()),
                       ("data_hash", data_hash),
                       ("test_snapshot", outcome.plan.test.isoformat()),
                       ("test_roc_auc", f"{outcome.test_metrics['roc_auc']:.4f}")):
        client.set_model_version_tag(outcome.settings.model_name, version, key, value)
