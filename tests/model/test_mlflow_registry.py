"""The model registry in a temporary MLflow store: champion loading and the promotion step."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from models.promotion import promote_version
from models.registry import NoChampionError, list_versions, load_champion
from models.tracking import ensure_experiment, use_tracking

MODEL_NAME = "curious-about-working-here"
TEST_SNAPSHOT = date(2026, 3, 1)


def _frame(seed: int, n: int = 2000) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=n)
    return pl.DataFrame({
        "n_engagements_7d": signal + rng.normal(0, 0.5, n),
        "n_views_30d": rng.normal(size=n),
        "label": rng.uniform(size=n) < 1 / (1 + np.exp(-(2 * signal - 2))),
    })


def _register(tracking_uri: str, artifacts: str, train: pl.DataFrame, shuffle_labels: bool) -> str:
    """Fit and register a logistic model; with shuffled labels it has learned nothing."""
    import mlflow
    import mlflow.sklearn
    from sklearn.linear_model import LogisticRegression

    X = train.drop("label").to_pandas()
    y = train["label"].to_numpy()
    if shuffle_labels:
        y = np.random.default_rng(3).permutation(y)
    model = LogisticRegression().fit(X, y)
    use_tracking(tracking_uri)
    experiment_id = ensure_experiment("registry-test", artifacts)
    with mlflow.start_run(experiment_id=experiment_id):
        mlflow.log_metric("test_roc_auc", 0.5)
        info = mlflow.sklearn.log_model(
            model, name="model", registered_model_name=MODEL_NAME,
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
            pip_requirements=["scikit-learn"],
        )
    return str(info.registered_model_version)


@pytest.fixture
def store(tmp_path):
    return f"sqlite:///{tmp_path / 'mlflow.db'}", (tmp_path / "artifacts").as_uri()


def test_no_champion_is_a_clear_error(store):
    tracking_uri, _ = store
    with pytest.raises(NoChampionError, match="no champion"):
        load_champion(tracking_uri, MODEL_NAME)


@pytest.mark.slow
def test_promotion_keeps_a_worse_model_out(store):
    tracking_uri, artifacts = store
    train, test = _frame(1), _frame(2)
    # given a first version (it becomes champion: there is none yet) and a better second one
    weak = _register(tracking_uri, artifacts, train, shuffle_labels=True)
    first = promote_version(tracking_uri, MODEL_NAME, weak, test, TEST_SNAPSHOT)
    strong = _register(tracking_uri, artifacts, train, shuffle_labels=False)
    second = promote_version(tracking_uri, MODEL_NAME, strong, test, TEST_SNAPSHOT)
    # when a version that learned nothing is offered next
    worse = _register(tracking_uri, artifacts, train, shuffle_labels=True)
    third = promote_version(tracking_uri, MODEL_NAME, worse, test, TEST_SNAPSHOT)
    # then the champion moves to the better model and stays there; the worse one is challenger
    assert (first.decision, second.decision, third.decision) == (
        "champion", "champion", "challenger"), (first.reason, second.reason, third.reason)
    assert third.champion_metrics["roc_auc"] > third.candidate_metrics["roc_auc"]
    champion = load_champion(tracking_uri, MODEL_NAME)
    assert champion.version == strong
    versions = {row["version"]: row for row in list_versions(tracking_uri, MODEL_NAME)}
    assert versions[worse]["aliases"] == ["challenger"]
    assert versions[worse]["tags"]["promotion_decision"] == "challenger"
    assert "AUC not higher" in versions[worse]["tags"]["promotion_reason"]
    assert versions[strong]["aliases"] == ["champion"]


@pytest.mark.slow
def test_champion_loads_from_the_models_uri_and_scores(store, tmp_path):
    import mlflow
    import mlflow.sklearn

    tracking_uri, artifacts = store
    train, test = _frame(1), _frame(2)
    version = _register(tracking_uri, artifacts, train, shuffle_labels=False)
    promote_version(tracking_uri, MODEL_NAME, version, test, TEST_SNAPSHOT)
    # when loading by the champion alias through MLflow's URI, and through load_champion while
    # MLflow's process-wide URIs point elsewhere (as in a scoring process that set nothing)
    use_tracking(tracking_uri)
    by_uri = mlflow.sklearn.load_model(f"models:/{MODEL_NAME}@champion")
    use_tracking(f"sqlite:///{tmp_path / 'elsewhere.db'}")
    loaded = load_champion(tracking_uri, MODEL_NAME)
    # then both give the same probabilities for the named features, in order
    X = test.drop("label").to_pandas()
    assert loaded.feature_names == ["n_engagements_7d", "n_views_30d"]
    assert loaded.version == version and loaded.run_id
    assert loaded.test_metrics == {"roc_auc": 0.5}
    np.testing.assert_allclose(by_uri.predict_proba(X)[:, 1], loaded.model.predict_proba(X)[:, 1])


# A training run as `norrut train` makes it, read back through MlflowClient.
TRAINED_AS_OF = date(2026, 3, 12)  # tests/worlds.py's world of 70 days from 2026-01-01


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from worlds import write_world

    from core.home import NorrutHome
    from models.settings import TrainSettings
    from models.training import train_model

    home = NorrutHome.resolve(tmp_path_factory.mktemp("trained") / "home").ensure()
    write_world(home.warehouse_path, n_persons=2000, n_days=70)
    return home, train_model(TrainSettings(as_of=TRAINED_AS_OF, min_positives=30), home)


@pytest.mark.slow
def test_the_run_reads_back_with_its_kind_name_tags_series_pictures_and_descriptions(trained):
    import mlflow

    from features.catalog import FEATURE_SET_VERSION
    from models.tracking import git_commit

    _, result = trained
    client = mlflow.MlflowClient(tracking_uri=result.tracking_uri,
                                 registry_uri=result.tracking_uri)
    run = client.get_run(result.run_id)
    # then the experiment opens on its runs (MLflow 3's custom model development kind)
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    # and the run is named after its date and tagged with where its data and code came from
    tags = run.data.tags
    assert run.info.run_name == "train-2026-03-12"
    assert tags["norrut.as_of"] == "2026-03-12"
    assert tags["norrut.feature_set_version"] == FEATURE_SET_VERSION
    assert len(tags["norrut.data_hash"]) == 64 and int(tags["norrut.data_hash"], 16) >= 0
    assert tags.get("mlflow.source.git.commit") == git_commit()
    assert "norrut.prefect_flow_run_id" not in tags  # not run in a flow
    assert "Trained as of 2026-03-12" in tags["mlflow.note.content"]
    # and gains and lift are one series each, the decile as step, not ten metrics
    assert not [key for key in run.data.metrics if "decile" in key]
    gains = sorted(client.get_metric_history(result.run_id, "test_cumulative_gain"),
                   key=lambda metric: metric.step)
    lifts = sorted(client.get_metric_history(result.run_id, "test_cumulative_lift"),
                   key=lambda metric: metric.step)
    assert [metric.step for metric in gains] == list(range(1, 11))
    assert [metric.value for metric in gains] == pytest.approx(
        [result.test_metrics[f"cumulative_gain_decile_{d}"] for d in range(1, 11)])
    assert lifts[0].value == pytest.approx(result.test_metrics["lift_at_10pct"])
    assert lifts[-1].value == pytest.approx(1.0)
    assert len(client.get_metric_history(result.run_id, "baseline_test_cumulative_gain")) == 10
    # and the ROC and precision-recall curves are pictures, the gains also a table
    artifacts = {item.path for item in client.list_artifacts(result.run_id)}
    assert {"roc_curve.png", "precision_recall_curve.png",
            "gains_and_lift_by_decile.json"} <= artifacts, artifacts
    # and the logged model carries the model's name, a signature and an input example
    logged = mlflow.search_logged_models(experiment_ids=[run.info.experiment_id],
                                         output_format="list")
    assert [model.name for model in logged] == [MODEL_NAME]
    version = client.get_model_version(MODEL_NAME, result.version)
    local = mlflow.artifacts.download_artifacts(
        artifact_uri=client.get_model_version_download_uri(MODEL_NAME, result.version),
        tracking_uri=result.tracking_uri)
    model_info = mlflow.models.Model.load(local)
    assert model_info.signature is not None and model_info.saved_input_example_info
    assert "python_function" in model_info.flavors and "sklearn" not in model_info.flavors
    # and the registered model and its version say what they are, and why it is champion
    assert "Probability that a person" in client.get_registered_model(MODEL_NAME).description
    assert version.description.startswith("Trained as of 2026-03-12 on 4 snapshots 7 days apart")
    assert f"Test AUC {result.test_metrics['roc_auc']:.4f}" in version.description
    assert "**Promotion:** promoted to champion: no champion yet." in version.description
    assert version.tags["data_hash"] == tags["norrut.data_hash"]


@pytest.mark.slow
def test_loading_the_champion_unpickles_nothing_and_warns_of_nothing(trained, monkeypatch,
                                                                    recwarn, caplog):
    import logging

    import mlflow

    from features.catalog import FEATURE_NAMES
    from models.prediction import scorer_for
    from models.propensity import PropensityModel

    _, result = trained
    # given MLflow told to refuse every pickled model
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "false")
    caplog.set_level(logging.WARNING)
    # when the champion is loaded, as the scoring step and as MLflow's models:/ URI load it
    champion = load_champion(result.tracking_uri, MODEL_NAME)
    use_tracking(result.tracking_uri)
    by_uri = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@champion")
    # then nothing warned, neither as a Python warning nor in MLflow's log
    said = [str(warning.message) for warning in recwarn] + [record.getMessage()
                                                           for record in caplog.records]
    assert not [text for text in said if "pickle" in text.lower() or "arbitrary" in text], said
    assert not [warning for warning in recwarn if warning.category is UserWarning], said
    # and both give the calibrated probabilities the scoring step computes
    assert isinstance(champion.model, PropensityModel)
    assert champion.version == result.version and champion.feature_names == list(FEATURE_NAMES)
    X = pl.DataFrame(np.random.default_rng(0).poisson(2.0, (50, len(FEATURE_NAMES))).astype(
        float), schema=list(FEATURE_NAMES)).to_pandas()
    expected = champion.model.predict_proba(X)[:, 1]
    np.testing.assert_allclose(np.asarray(by_uri.predict(X)), expected, rtol=1e-12)
    np.testing.assert_allclose(scorer_for(champion.model).scores(X.to_numpy(np.float32)),
                               expected, atol=1e-6)


def test_a_run_in_a_prefect_flow_run_is_tagged_with_it_and_its_link(monkeypatch):
    import prefect.runtime.flow_run  # noqa: F401  (a flow run has loaded Prefect)

    from models.tracking import FLOW_RUN_ID_TAG, FLOW_RUN_URL_TAG, run_context_tags

    # given a process working for a Prefect flow run (as a worker starts it) with a known UI
    run_id = "0f4e3c2a-5b6d-4e7f-8a9b-0c1d2e3f4a5b"
    monkeypatch.setenv("PREFECT__FLOW_RUN_ID", run_id)
    monkeypatch.setenv("PREFECT_UI_URL", "http://127.0.0.1:4200")
    # when a training run collects its tags, then they name the flow run and link to its page
    tags = run_context_tags()
    assert tags[FLOW_RUN_ID_TAG] == run_id
    assert tags[FLOW_RUN_URL_TAG] == f"http://127.0.0.1:4200/runs/flow-run/{run_id}"
    # and outside a flow run there is neither
    monkeypatch.delenv("PREFECT__FLOW_RUN_ID")
    assert FLOW_RUN_ID_TAG not in run_context_tags() and FLOW_RUN_URL_TAG not in run_context_tags()


def test_the_flow_runs_link_falls_back_to_the_api_address(monkeypatch):
    import prefect.runtime.flow_run  # noqa: F401

    from models.tracking import FLOW_RUN_URL_TAG, run_context_tags

    monkeypatch.setenv("PREFECT__FLOW_RUN_ID", "1b2c3d4e-0000-4000-8000-000000000001")
    monkeypatch.delenv("PREFECT_UI_URL", raising=False)
    monkeypatch.setenv("PREFECT_API_URL", "http://prefect.example:4200/api")
    assert run_context_tags()[FLOW_RUN_URL_TAG] == (
        "http://prefect.example:4200/runs/flow-run/1b2c3d4e-0000-4000-8000-000000000001")
