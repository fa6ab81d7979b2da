"""Flow: the creative report - which films, themes and campaigns work (`norrut creatives`)."""

from __future__ import annotations

from prefect import flow

from flows.cluster import EngineTaskRunner
from flows.common import FlowRun, run_name_with_date
from flows.jobs import creatives_job
from insight.settings import CreativesSettings


@flow(name="creatives", flow_run_name=lambda: run_name_with_date("creatives"), log_prints=True,
      task_runner=EngineTaskRunner())
def creatives(settings: CreativesSettings = CreativesSettings()):
    """Compare the intent of persons who engaged with each content item, theme and campaign
    with that of comparable persons shown it who did not, and store the creative report."""
    return creatives_job(FlowRun(), settings)
