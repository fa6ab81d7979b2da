"""Flow: measure a campaign's lift from an export run and its holdout (`norrut lift`)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow, task

from activation.settings import LiftSettings
from flows.common import (
    holding_the_warehouse,
    publish,
    rename_run,
    retry_only_io_errors,
    run_name_with_date,
)


@task(name="find-export-run")
def find_export_run_task(exports_dir: str, segment: str, as_of: date | None,
                         export_version: int | None) -> tuple[date, int]:
    """The as-of date and version measured: those given, else the newest that wrote the segment."""
    from activation.lift import newest_export_as_of, newest_export_version

    resolved = as_of or newest_export_as_of(Path(exports_dir), segment)
    return resolved, export_version or newest_export_version(Path(exports_dir), segment, resolved)


@task(name="measure-lift", retries=2, retry_delay_seconds=5,
      retry_condition_fn=retry_only_io_errors)
def measure_lift_task(settings: LiftSettings):
    # Retried only when reading or writing a file fails; the counts are deterministic.
    from activation.lift import lift as measure

    return measure(settings)


@flow(name="lift", flow_run_name=lambda: run_name_with_date("lift"), log_prints=True)
def lift(settings: LiftSettings = LiftSettings()):
    """Count intent events of the persons sent to a platform and of the segment's holdout,
    and write the campaign's lift file for the portal."""
    paths = settings.norrut_home().ensure()
    exports_path = str(settings.exports_path())
    # The warehouse is only read, but DuckDB refuses a reader while a writer has the file open;
    # holding the lock also keeps an export from replacing the holdout mid-measurement.
    with holding_the_warehouse(paths, settings.lock_wait_seconds):
        resolved_as_of, version = find_export_run_task(exports_path, settings.segment,
                                                       settings.as_of, settings.export_version)
        rename_run(f"lift-{resolved_as_of.isoformat()}")
        measurement = measure_lift_task(settings.model_copy(
            update={"as_of": resolved_as_of, "export_version": version}))
    from activation.lift import lift_markdown

    publish(lift_markdown(measurement), key="lift-summary",
            description="Intent of the treated persons against the holdout, and the lift")
    return measurement
