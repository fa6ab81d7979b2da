"""The one place activation touches the model registry: load the champion model."""

from __future__ import annotations

from models.registry import LoadedModel, NoChampionError, load_champion

__all__ = ["LoadedModel", "NoChampionError", "load_champion_model"]


def load_champion_model(tracking_uri: str, model_name: str) -> LoadedModel:
    """The version aliased `champion` (`models:/<name>@champion`) with its test metrics."""
    import mlflow

    # MLflow resolves `models:/` artifact URIs with the process-wide registry, whatever URI
    # the client was given; point it at this store for the load, then put it back.
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    try:
        return load_champion(tracking_uri, model_name)
    finally:
        mlflow.set_tracking_uri(previous[0])
        mlflow.set_registry_uri(previous[1])
