"""Where training runs and registered models are kept: MLflow on SQLite under NORRUT_HOME by
default, any tracking URI by setting."""

from __future__ import annotations

from pathlib import Path

from norrut.home import NorrutHome

DEFAULT_EXPERIMENT = "norrut-propensity"
DEFAULT_MODEL_NAME = "curious-about-working-here"


def resolve_tracking(home: NorrutHome, tracking_uri: str | None,
                     artifact_location: str | None) -> tuple[str, str | None]:
    """The tracking URI and, for a new experiment, its artifact location. The default store keeps
    artifacts under the home folder; without an explicit location MLflow would write ./mlruns."""
    if tracking_uri is None:
        home.ensure()
        return home.mlflow_tracking_uri, artifact_location or home.mlflow_artifacts_dir.as_uri()
    return tracking_uri, artifact_location


def use_tracking(tracking_uri: str) -> None:
    """Point MLflow's fluent API (runs, log_model) and its registry at `tracking_uri`."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)


def ensure_experiment(name: str, artifact_location: str | None) -> str:
    """The experiment's id, creating it with `artifact_location` the first time."""
    import mlflow

    experiment = mlflow.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    return mlflow.create_experiment(name, artifact_location=artifact_location)


def sqlite_store_exists(tracking_uri: str) -> bool:
    """False for a default store that no training has created yet (nothing to list or load)."""
    if not tracking_uri.startswith("sqlite:///"):
        return True
    return Path(tracking_uri.removeprefix("sqlite:///")).exists()
