"""train_model on a synthetic world: what it logs to MLflow, what it registers, when it refuses."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest
from typer.testing import CliRunner
from worlds import write_world

import models.training
from features.catalog import FEATURE_NAMES
from models.datasets import TrainingDataError
from models.leakage import LeakageError
from models.metrics import SCALAR_METRIC_KEYS
from models.registry import list_versions, load_champion
from models.settings import PromoteSettings, TrainSettings
from models.training import promote, train_model
from norrut.cli.app import build_app

SCORING_DATE = date(2026, 3, 12)  # the world runs 70 days from 2026-01-01


@pytest.fixture
def world(home):
    write_world(home.warehouse_path, n_persons=2000, n_days=70)
    return home


@pytest.mark.slow
def test_a_run_logs_metrics_artifacts_inputs_and_registers_the_champion(world):
    import mlflow

    # when training with default settings (a lower positive minimum for the small world)
    result = train_model(TrainSettings(as_of=SCORING_DATE, min_positives=30), world)
    # then the run is in the home's SQLite store with every scalar metric of model and baseline
    # (gains by decile are series: tests/model/test_mlflow_registry.py)
    assert result.tracking_uri == world.mlflow_tracking_uri
    client = mlflow.MlflowClient(tracking_uri=result.tracking_uri)
    run = client.get_run(result.run_id)
    for key in SCALAR_METRIC_KEYS:
        assert f"test_{key}" in run.data.metrics, key
        assert f"baseline_test_{key}" in run.data.metrics, key
    params = run.data.params
    assert params["test_snapshot"] == "2026-02-26" and params["validation_snapshot"] == "2026-02-12"
    assert params["horizon_days"] == "14" and params["feature_set_version"]
    assert int(params["rows_training"]) > 0 and float(params["positive_rate_test"]) > 0
    assert {dataset.dataset.name for dataset in run.inputs.dataset_inputs} == {
        "person_features_training", "person_features_validation", "person_features_test"}
    # and the pictures and feature list, under the home's artifact folder, not ./mlruns
    artifacts = {item.path for item in client.list_artifacts(result.run_id)}
    assert {"calibration_curve.png", "cumulative_gains_lift.png", "feature_importance.png",
            "shap_summary.png", "feature_list.txt"} <= artifacts, artifacts
    assert run.info.artifact_uri.startswith(world.mlflow_artifacts_dir.as_uri())
    # and the model learned something real, is champion and loads with its features in order
    assert result.test_metrics["roc_auc"] > 0.6, result.test_metrics
    assert result.promotion.decision == "champion"
    champion = load_champion(result.tracking_uri, result.model_name)
    assert champion.version == result.version
    assert champion.feature_names == list(FEATURE_NAMES)
    assert "person_id" not in champion.feature_names
    assert champion.test_metrics["roc_auc"] == pytest.approx(result.test_metrics["roc_auc"])
    scores = champion.model.predict_proba(np.zeros((3, len(FEATURE_NAMES))))[:, 1]
    assert np.all((scores >= 0) & (scores <= 1))

    # when the separate promotion step runs again for the same version (test set rebuilt
    # from the warehouse), it recognises the champion and changes nothing
    again = promote(PromoteSettings(home=str(world.root), version=result.version))
    assert again.decision == "already_champion"
    assert again.candidate_metrics["roc_auc"] == pytest.approx(result.test_metrics["roc_auc"])


@pytest.mark.slow
def test_bounded_sets_train_on_a_fixed_sample_that_the_promotion_step_rebuilds(world):
    import mlflow

    # when training with bounds below the sets' sizes (2,000 persons, 6 training snapshots)
    settings = TrainSettings(as_of=SCORING_DATE, min_positives=30, max_training_rows=3000,
                             max_evaluation_rows=900)
    result = train_model(settings, world)
    # then each set holds at most its bound: the training snapshots share theirs equally
    params = mlflow.MlflowClient(tracking_uri=result.tracking_uri).get_run(
        result.run_id).data.params
    assert int(params["rows_validation"]) == int(params["rows_test"]) == 900
    assert int(params["rows_training"]) == 6 * 500
    assert params["max_training_rows"] == "3000" and params["max_evaluation_rows"] == "900"
    # and the separate promotion step judges the version on the same 900 test rows again
    again = promote(PromoteSettings(home=str(world.root), version=result.version))
    assert again.candidate_metrics == result.promotion.candidate_metrics


def test_a_planted_leaking_feature_stops_the_run(world, monkeypatch):
    # given a feature matrix in which one feature has been allowed to see the label
    honest = models.training.feature_matrix

    def leaking(frame, *args):
        X = honest(frame, *args)
        if "label" in frame.columns:
            X["n_intent_3d"] = frame["label"].cast(float).to_numpy() * 3.0
        return X

    monkeypatch.setattr(models.training, "feature_matrix", leaking)
    # when training, then the guard names the feature and nothing is registered
    with pytest.raises(LeakageError, match="n_intent_3d"):
        train_model(TrainSettings(as_of=SCORING_DATE, min_positives=30), world)
    assert list_versions(world.mlflow_tracking_uri, "curious-about-working-here") == []


def test_too_few_positives_stops_before_anything_is_registered(world):
    runner = CliRunner()
    # when `norrut train` asks for more positives than the world has
    refused = runner.invoke(build_app(), ["train", "--as-of", "2026-03-12",
                                          "--min-positives", "100000"])
    # then it exits non-zero, says why, and no model version exists
    assert refused.exit_code == 2
    assert "too few positive examples" in refused.output
    assert "champion is unchanged" in refused.output
    listed = runner.invoke(build_app(), ["models", "--json"])
    assert listed.exit_code == 0 and json.loads(listed.output) == []
    assert list_versions(world.mlflow_tracking_uri, "curious-about-working-here") == []
    with pytest.raises(TrainingDataError, match="too few positive examples"):
        train_model(TrainSettings(as_of=SCORING_DATE, min_positives=100_000), world)


def test_feature_list_is_shown_by_the_cli():
    listed = CliRunner().invoke(build_app(), ["features", "list"])
    assert listed.exit_code == 0, listed.output
    for name in ("theme_share_90d__tech_jobs", "days_since_last_intent", "n_share_30d"):
        assert name in listed.output, name
