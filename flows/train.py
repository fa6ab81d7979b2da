"""Flow: train a new propensity model and promote it when it beats the champion."""

from __future__ import annotations

from prefect import flow

from flows.cluster import EngineTaskRunner
from flows.common import FlowRun, run_name_with_date
from flows.jobs import train_job
from models.settings import TrainSettings


@flow(name="train", flow_run_name=lambda: run_name_with_date("train"), log_prints=True,
      task_runner=EngineTaskRunner())
def train(settings: TrainSettings = TrainSettings()):
    """Train on snapshots before the as-of date, log to MLflow, and run the promotion step."""
    return train_job(FlowRun(), settings)
