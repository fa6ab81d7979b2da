"""Flow: the whole chain for one as-of date - ingest, features, train when due, score, export."""

from __future__ import annotations

from prefect import flow

from flows.cluster import EngineTaskRunner
from flows.common import FlowRun, run_name_with_date
from flows.jobs import PipelineResult, pipeline_job
from flows.settings import PipelineSettings

__all__ = ["PipelineResult", "pipeline"]


@flow(name="pipeline", flow_run_name=lambda: run_name_with_date("pipeline"), log_prints=True,
      task_runner=EngineTaskRunner())
def pipeline(settings: PipelineSettings = PipelineSettings()) -> PipelineResult:
    """Load the inbox, build features, train if the champion is missing or old, score, export."""
    return pipeline_job(FlowRun(), settings)
