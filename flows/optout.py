"""Flow: apply an opt-out file to the warehouse."""

from __future__ import annotations

from prefect import flow, task

from flows.common import holding_the_warehouse, publish, retry_only_io_errors, run_name_with_date
from flows.reports import optout_markdown
from flows.settings import DEFAULT_LOCK_WAIT_SECONDS, OptoutSettings


@task(name="apply-optouts", retries=2, retry_delay_seconds=10,
      retry_condition_fn=retry_only_io_errors)
def apply_optouts_task(warehouse_path: str, optouts_csv: str):
    from warehouse.optout import apply_optouts

    return apply_optouts(warehouse_path, optouts_csv)


@flow(name="optout", flow_run_name=lambda: run_name_with_date("optout"), log_prints=True)
def optout(
    home: str | None = None,
    optouts_csv: str | None = None,
    lock_wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS,
):
    """Erase, or stop profiling, every person named in the opt-out file."""
    settings = OptoutSettings(home=home, optouts_csv=optouts_csv,
                              lock_wait_seconds=lock_wait_seconds)
    home_paths = settings.norrut_home().ensure()
    with holding_the_warehouse(home_paths, settings.lock_wait_seconds):
        report = apply_optouts_task(str(home_paths.warehouse_path), str(settings.optouts_path()))
    publish(optout_markdown(report), key="optout-summary",
            description="Persons erased or suppressed")
    return report
