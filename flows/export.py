"""Flow: write the segment files from stored scores as a new export version (`norrut export`)."""

from __future__ import annotations

from prefect import flow

from activation.settings import ExportSettings
from flows.cluster import EngineTaskRunner
from flows.common import FlowRun, run_name_with_date
from flows.jobs import export_job


@flow(name="export", flow_run_name=lambda: run_name_with_date("export"), log_prints=True,
      task_runner=EngineTaskRunner())
def export(settings: ExportSettings = ExportSettings()):
    """Write each segment's files for the ad platforms from the scores of one as-of date."""
    return export_job(FlowRun(), settings)
