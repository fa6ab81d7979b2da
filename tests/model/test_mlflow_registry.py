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
