"""Flow: load new event files from the inbox into the warehouse."""

from __future__ import annotations

from prefect import flow

from flows.cluster import EngineTaskRunner
from flows.common import FlowRun, run_name_with_today
from flows.jobs import ingest_job
from warehouse.settings import IngestSettings


@flow(name="ingest", flow_run_name=lambda: run_name_with_today("ingest"), log_prints=True,
      task_runner=EngineTaskRunner())
def ingest(settings: IngestSettings = IngestSettings()):
    """Load the event files in the inbox; bad rows go to quarantine with their reason."""
    return ingest_job(FlowRun(), settings)
