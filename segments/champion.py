"""The one place activation touches the model registry: load the champion model."""

from __future__ import annotations

from models.registry import LoadedModel, NoChampionError, load_champion

__all__ = ["LoadedModel", "NoChampionError", "load_champion_model"]


def load_champion_model(tracking_uri: str, model_name: str) -> LoadedModel:
    """The version aliased `champion` (`models:/<name>@champion`) with its test metrics."""
    return load_champion(tracking_uri, model_name)
