"""Flow: the whole chain for one as-of date - ingest, features, train when due, score, export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from prefect import flow, task

from flows.build_features import build_features_task
from flows.common import (
    holding_the_warehouse,
    publish,
    resolve_as_of,
    retry_only_io_errors,
    run_name_with_date,
)
from flows.ingest import ingest_steps
from flows.reports import pipeline_markdown
from flows.score_and_export import score_and_export_steps
from flows.settings import PipelineSettings, training_due
from flows.train import train_model_task

if TYPE_CHECKING:
    from activation.export_run import ExportRunReport
    from activation.scoring import ScoreResult
    from features.build import FeatureBuildResult
    from models.training import TrainResult
    from warehouse.ingest import IngestReport


@dataclass(frozen=True)
class PipelineResult:
    """What one pipeline run did; `export_folder` holds the segment files."""

    as_of: date
    ingest: IngestReport
    features: FeatureBuildResult
    training: TrainResult | None
    training_reason: str
    scores: ScoreResult
    export: ExportRunReport

    @property
    def export_folder(self) -> Path:
        return self.export.folder


@task(name="champion-trained-at", retries=2, retry_delay_seconds=5,
      retry_condition_fn=retry_only_io_errors)
def champion_trained_at_task(tracking_uri: str) -> datetime | None:
    """When the current champion was registered; None when there is none. Reads the MLflow
    store from disk, hence the retries on I/O errors."""
    from models.registry import list_versions
    from models.settings import DEFAULT_MODEL_NAME

    for version in list_versions(tracking_uri, DEFAULT_MODEL_NAME):
        if "champion" in version["aliases"]:
            return datetime.fromtimestamp(version["created_at_ms"] / 1000, tz=UTC)
    return None


@flow(name="pipeline", flow_run_name=lambda: run_name_with_date("pipeline"), log_prints=True)
def pipeline(settings: PipelineSettings = PipelineSettings()) -> PipelineResult:
    """Load the inbox, build features, train if the champion is missing or old, score, export."""
    paths = settings.norrut_home().ensure()
    # One lock for the whole chain: no other writer slips in between ingest and export.
    with holding_the_warehouse(paths, settings.lock_wait_seconds):
        loaded = ingest_steps(settings.ingest_settings())
        # Resolved after ingest, so the default is the day after the newest event just loaded.
        resolved = resolve_as_of(settings.as_of, paths, "pipeline")
        features = build_features_task(settings.feature_settings(resolved))
        due, why = training_due(champion_trained_at_task(paths.mlflow_tracking_uri),
                                datetime.now(UTC), settings.retrain_after_days)
        training = train_model_task(settings.train_settings(resolved)) if due else None
        scores, export = score_and_export_steps(settings.score_and_export_settings(resolved),
                                                resolved)
    result = PipelineResult(resolved, loaded, features, training, why, scores, export)
    publish(pipeline_markdown(result), key="pipeline-summary",
            description="What the pipeline run did, step by step")
    return result
