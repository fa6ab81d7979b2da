"""Flow: measure a campaign's lift from an export run and its holdout (`norrut lift`)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow, task

from flows.common import (
    holding_the_warehouse,
    publish,
    rename_run,
    retry_only_io_errors,
    run_name_with_date,
)
from flows.settings import DEFAULT_LOCK_WAIT_SECONDS, LiftSettings


@task(name="find-export-run")
def find_export_run_task(exports_dir: str, segment: str, as_of: date | None,
                         export_version: int | None) -> tuple[date, int]:
    """The as-of date and version measured: those given, else the newest that wrote the segment."""
    from activation.lift import newest_export_as_of, newest_export_version

    resolved = as_of or newest_export_as_of(Path(exports_dir), segment)
    return resolved, export_version or newest_export_version(Path(exports_dir), segment, resolved)


@task(name="measure-lift", retries=2, retry_delay_seconds=5,
      retry_condition_fn=retry_only_io_errors)
def measure_lift_task(warehouse_path: str, exports_dir: str, segment: str, as_of: date,
                      export_version: int, destination: str, start: date | None,
                      end: date | None, campaign: str | None,
                      intent_types: list[str] | None):
    # Retried only when reading or writing a file fails; the counts are deterministic.
    from activation.lift import measure_lift
    from core.contract import INTENT_EVENT_TYPES

    return measure_lift(
        warehouse_path, exports_dir, segment, as_of, destination,
        export_version=export_version, start=start, end=end, campaign=campaign,
        intent_types=tuple(intent_types) if intent_types is not None else INTENT_EVENT_TYPES)


@flow(name="lift", flow_run_name=lambda: run_name_with_date("lift"), log_prints=True)
def lift(
    home: str | None = None,
    segment: str = "top-decile",
    as_of: date | None = None,
    export_version: int | None = None,
    destination: str = "meta",
    start: date | None = None,
    end: date | None = None,
    campaign: str | None = None,
    intent_types: list[str] | None = None,
    exports_dir: str | None = None,
    lock_wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS,
):
    """Count intent events of the persons sent to a platform and of the segment's holdout,
    and write the campaign's lift file for the portal."""
    settings = LiftSettings(home=home, segment=segment, as_of=as_of,
                            export_version=export_version, destination=destination,
                            start=start, end=end, campaign=campaign, intent_types=intent_types,
                            exports_dir=exports_dir, lock_wait_seconds=lock_wait_seconds)
    paths = settings.norrut_home().ensure()
    exports_path = str(settings.exports_path())
    # The warehouse is only read, but DuckDB refuses a reader while a writer has the file open;
    # holding the lock also keeps an export from replacing the holdout mid-measurement.
    with holding_the_warehouse(paths, settings.lock_wait_seconds):
        resolved_as_of, version = find_export_run_task(exports_path, settings.segment,
                                                       settings.as_of, settings.export_version)
        rename_run(f"lift-{resolved_as_of.isoformat()}")
        measurement = measure_lift_task(
            str(paths.warehouse_path), exports_path, settings.segment, resolved_as_of, version,
            settings.destination, settings.start, settings.end, settings.campaign,
            settings.intent_types)
    from activation.lift import lift_markdown

    publish(lift_markdown(measurement), key="lift-summary",
            description="Intent of the treated persons against the holdout, and the lift")
    return measurement
