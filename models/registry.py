"""Registered propensity models: load the champion, list versions with their test metrics."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from typing import Any

from models.metrics import SCALAR_METRIC_KEYS
from models.tracking import sqlite_store_exists

CHAMPION = "champion"
CHALLENGER = "challenger"


class NoChampionError(LookupError):
    """No version of the model holds the champion alias."""


@dataclass
class LoadedModel:
    model: Any
    feature_names: list[str]
    name: str
    version: str
    run_id: str
    test_metrics: dict[str, float] = field(default_factory=dict)


def _client(tracking_uri: str):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def test_metrics_of_run(client, run_id: str, prefix: str = "test_") -> dict[str, float]:
    """The run's `<prefix><key>` metrics, keyed without the prefix."""
    logged = client.get_run(run_id).data.metrics
    return {key: logged[prefix + key] for key in SCALAR_METRIC_KEYS if prefix + key in logged}


def load_version(tracking_uri: str, model_name: str, version: str) -> LoadedModel:
    """One registered version: its PropensityModel (or, for a version logged with the sklearn
    flavour before, that model)."""
    import mlflow.artifacts

    client = _client(tracking_uri)
    model_version = client.get_model_version(model_name, version)
    # The version's own artifact location, so loading needs no process-wide registry URI
    # (a models:/ URI would be resolved against MLflow's global one, not `tracking_uri`).
    location = client.get_model_version_download_uri(model_name, str(version))
    with tempfile.TemporaryDirectory(prefix="norrut-model-") as folder:
        local = mlflow.artifacts.download_artifacts(artifact_uri=location, dst_path=folder,
                                                    tracking_uri=tracking_uri)
        model = _load_logged_model(local)
    return LoadedModel(
        model=model,
        feature_names=[str(name) for name in model.feature_names_in_],
        name=model_name,
        version=str(model_version.version),
        run_id=model_version.run_id,
        test_metrics=test_metrics_of_run(client, model_version.run_id),
    )


def _load_logged_model(local: str) -> Any:
    """A model as logged: a pyfunc from code (models/mlflow_model.py) holding a PropensityModel,
    loaded from LightGBM's text format and JSON without unpickling anything; or a model of the
    sklearn flavour, the format of versions logged before (and of other tools' models)."""
    import mlflow.pyfunc
    from mlflow.models import Model

    if "sklearn" in Model.load(local).flavors:
        import mlflow.sklearn

        return mlflow.sklearn.load_model(local)
    return mlflow.pyfunc.load_model(local).unwrap_python_model().propensity_model


def champion_version(tracking_uri: str, model_name: str) -> str | None:
    """The version number holding the champion alias, or None."""
    from mlflow.exceptions import MlflowException

    if not sqlite_store_exists(tracking_uri):
        return None
    try:
        return str(_client(tracking_uri).get_model_version_by_alias(model_name, CHAMPION).version)
    except MlflowException:
        return None


def load_champion(tracking_uri: str, model_name: str) -> LoadedModel:
    """The version aliased `champion` (`models:/<name>@champion`) with its test metrics;
    NoChampionError when there is none."""
    import mlflow

    version = champion_version(tracking_uri, model_name)
    if version is None:
        raise NoChampionError(
            f"no champion for model {model_name!r} in {tracking_uri}; run `norrut train` first"
        )
    # MLflow resolves `models:/` artifact URIs with the process-wide registry, whatever URI
    # the client was given; point it at this store for the load, then put it back.
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    try:
        return load_version(tracking_uri, model_name, version)
    finally:
        mlflow.set_tracking_uri(previous[0])
        mlflow.set_registry_uri(previous[1])


def list_versions(tracking_uri: str, model_name: str) -> list[dict[str, Any]]:
    """Every version, newest first, with aliases, tags and test metrics of model and baseline."""
    from mlflow.exceptions import MlflowException

    if not sqlite_store_exists(tracking_uri):
        return []
    client = _client(tracking_uri)
    try:
        registered = client.get_registered_model(model_name)
    except MlflowException:
        return []
    aliases_by_version: dict[str, list[str]] = {}
    for alias, version in (registered.aliases or {}).items():
        aliases_by_version.setdefault(str(version), []).append(alias)
    rows = []
    for model_version in client.search_model_versions(f"name = '{model_name}'"):
        version = str(model_version.version)
        rows.append({
            "version": version,
            "aliases": sorted(aliases_by_version.get(version, [])),
            "run_id": model_version.run_id,
            "created_at_ms": model_version.creation_timestamp,
            "tags": dict(model_version.tags or {}),
            "test_metrics": test_metrics_of_run(client, model_version.run_id),
            "baseline_test_metrics": test_metrics_of_run(client, model_version.run_id,
                                                         prefix="baseline_test_"),
        })
    return sorted(rows, key=lambda row: int(row["version"]), reverse=True)
