"""Flow: the model's health after each scoring run (`norrut monitor`)."""

from __future__ import annotations

from prefect import flow

from flows.cluster import EngineTaskRunner
from flows.common import FlowRun, run_name_with_today
from flows.jobs import monitor_job
from monitoring.settings import MonitorSettings


@flow(name="monitor", flow_run_name=lambda: run_name_with_today("monitor"), log_prints=True,
      task_runner=EngineTaskRunner())
def monitor(settings: MonitorSettings = MonitorSettings()):
    """Backtest every matured scoring run, measure drift, and fail on a crossed threshold."""
    return monitor_job(FlowRun(), settings)
