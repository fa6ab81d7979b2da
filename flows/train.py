"""Flow: train a new propensity model and promote it when it beats the champion."""

from __future__ import annotations

from prefect import flow, task

from flows.common import holding_the_warehouse, publish, resolve_as_of, run_name_with_date
from flows.reports import training_markdown
from models.settings import TrainSettings


@task(name="train-model")
def train_model_task(settings: TrainSettings):
    # Deterministic for a given warehouse and seed: a retry would fail the same way.
    from models.training import train

    return train(settings)


@flow(name="train", flow_run_name=lambda: run_name_with_date("train"), log_prints=True)
def train(settings: TrainSettings = TrainSettings()):
    """Train on snapshots before the as-of date, log to MLflow, and run the promotion step."""
    paths = settings.norrut_home().ensure()
    with holding_the_warehouse(paths, settings.lock_wait_seconds):
        resolved = resolve_as_of(settings.as_of, paths, "train")
        result = train_model_task(settings.model_copy(update={"as_of": resolved}))
    publish(training_markdown(result), key="training-summary",
            description="Model metrics against the champion, and the promotion decision")
    return result
