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
    rename_run,
    resolve_as_of,
    retry_only_io_errors,
    run_name_with_date,
)
from flows.ingest import ingest_inbox_task
from flows.reports import pipeline_markdown
from flows.score_and_export import score_and_export_steps
from flows.settings import DEFAULT_LOCK_WAIT_SECONDS, PipelineSettings, training_due
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
    from models.tracking import DEFAULT_MODEL_NAME

    for version in list_versions(tracking_uri, DEFAULT_MODEL_NAME):
        if "champion" in version["aliases"]:
            return datetime.fromtimestamp(version["created_at_ms"] / 1000, tz=UTC)
    return None


@flow(name="pipeline", flow_run_name=lambda: run_name_with_date("pipeline"), log_prints=True)
def pipeline(
    home: str | None = None,
    as_of: date | None = None,
    inbox: str | None = None,
    catalog: str | None = None,
    segments_file: str | None = None,
    retrain_after_days: int = 7,
    lock_wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS,
) -> PipelineResult:
    """Load the inbox, build features, train if the champion is missing or old, score, export."""
    settings = PipelineSettings(home=home, as_of=as_of, inbox=inbox, catalog=catalog,
                                segments_file=segments_file,
                                retrain_after_days=retrain_after_days,
                                lock_wait_seconds=lock_wait_seconds)
    paths = settings.norrut_home().ensure()
    inbox_path = settings.inbox_path()
    if settings.inbox is None:
        inbox_path.mkdir(parents=True, exist_ok=True)
    warehouse = str(paths.warehouse_path)
    # One lock for the whole chain: no other writer slips in between ingest and export.
    with holding_the_warehouse(paths, settings.lock_wait_seconds):
        loaded = ingest_inbox_task(warehouse, str(inbox_path), settings.catalog, False)
        # Resolved after ingest, so the default is the day after the newest event just loaded.
        resolved = resolve_as_of(settings.as_of, warehouse)
        rename_run(f"pipeline-{resolved.isoformat()}")
        features = build_features_task(warehouse, resolved)
        due, why = training_due(champion_trained_at_task(paths.mlflow_tracking_uri),
                                datetime.now(UTC), settings.retrain_after_days)
        training = train_model_task(str(paths.root), resolved, True) if due else None
        scores, export = score_and_export_steps(paths, resolved, settings.segments_file)
    result = PipelineResult(resolved, loaded, features, training, why, scores, export)
    publish(pipeline_markdown(result), key="pipeline-summary",
            description="What the pipeline run did, step by step")
    return result
