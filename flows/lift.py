"""Flow: measure a campaign's lift from an export run and its holdout (`norrut lift`)."""

from __future__ import annotations

from prefect import flow

from activation.settings import LiftSettings
from flows.cluster import EngineTaskRunner
from flows.common import FlowRun, run_name_with_date
from flows.jobs import lift_job


@flow(name="lift", flow_run_name=lambda: run_name_with_date("lift"), log_prints=True,
      task_runner=EngineTaskRunner())
def lift(settings: LiftSettings = LiftSettings()):
    """Count intent events of the persons sent to a platform and of the segment's holdout,
    and write the campaign's lift file for the portal."""
    return lift_job(FlowRun(), settings)
