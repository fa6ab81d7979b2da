"""Flow: apply an opt-out file, then remove every other copy of the persons' data (the steps
and their order: flows/jobs.py:optout_job). Each step is safe to rerun, so a run that failed
part-way is finished by running it again."""

from __future__ import annotations

from prefect import flow

from flows.cluster import EngineTaskRunner
from flows.common import FlowRun, run_name_with_today
from flows.jobs import optout_job
from warehouse.settings import OptoutSettings


@flow(name="optout", flow_run_name=lambda: run_name_with_today("optout"), log_prints=True,
      task_runner=EngineTaskRunner())
def optout(settings: OptoutSettings = OptoutSettings()):
    """Erase, or stop profiling, every person named in the opt-out file, everywhere."""
    return optout_job(FlowRun(), settings)
