"""Flow: score everyone with the champion model and export the segment files."""

from __future__ import annotations

from prefect import flow

from activation.settings import ScoreAndExportSettings
from flows.cluster import EngineTaskRunner
from flows.common import FlowRun, run_name_with_date
from flows.jobs import score_and_export_job


@flow(name="score-and-export", flow_run_name=lambda: run_name_with_date("score-and-export"),
      log_prints=True,
      task_runner=EngineTaskRunner())
def score_and_export(settings: ScoreAndExportSettings = ScoreAndExportSettings()):
    """Score every eligible person with the champion, then write each segment's files. The
    date's features are built first when none were built for it."""
    return score_and_export_job(FlowRun(), settings)
