"""Flow: train a new propensity model and promote it when it beats the champion."""

from __future__ import annotations

from datetime import date

from prefect import flow, task

from flows.common import (
    holding_the_warehouse,
    publish,
    rename_run,
    resolve_as_of,
    run_name_with_date,
)
from flows.reports import training_markdown
from flows.settings import DEFAULT_LOCK_WAIT_SECONDS, DEFAULT_MODEL_NAME, TrainSettings


@task(name="train-model")
def train_model_task(home: str, as_of: date, promote: bool, options: dict | None = None):
    # Deterministic for a given warehouse and seed: a retry would fail the same way.
    from core.home import NorrutHome
    from models.training import TrainSettings as ModelTrainSettings
    from models.training import train_model

    settings = ModelTrainSettings(**{**(options or {}), "as_of": as_of, "promote": promote})
    return train_model(settings, NorrutHome.resolve(home))


@flow(name="train", flow_run_name=lambda: run_name_with_date("train"), log_prints=True)
def train(
    home: str | None = None,
    as_of: date | None = None,
    promote: bool = True,
    horizon_days: int = 14,
    intent_types: list[str] | None = None,
    n_training_snapshots: int = 6,
    snapshot_interval_days: int = 7,
    min_positives: int = 100,
    optuna_trials: int = 0,
    model_name: str = DEFAULT_MODEL_NAME,
    tracking_uri: str | None = None,
    lock_wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS,
):
    """Train on snapshots before the as-of date, log to MLflow, and run the promotion step."""
    settings = TrainSettings(home=home, as_of=as_of, promote=promote, horizon_days=horizon_days,
                             intent_types=intent_types,
                             n_training_snapshots=n_training_snapshots,
                             snapshot_interval_days=snapshot_interval_days,
                             min_positives=min_positives, optuna_trials=optuna_trials,
                             model_name=model_name, tracking_uri=tracking_uri,
                             lock_wait_seconds=lock_wait_seconds)
    paths = settings.norrut_home().ensure()
    with holding_the_warehouse(paths, settings.lock_wait_seconds):
        resolved = resolve_as_of(settings.as_of, str(paths.warehouse_path))
        rename_run(f"train-{resolved.isoformat()}")
        result = train_model_task(str(paths.root), resolved, settings.promote,
                                  settings.model_options())
    publish(training_markdown(result), key="training-summary",
            description="Model metrics against the champion, and the promotion decision")
    return result
