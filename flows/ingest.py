"""Flow: load new event files from the inbox into the warehouse."""

from __future__ import annotations

from prefect import flow, get_run_logger, task

from flows.common import holding_the_warehouse, publish, retry_only_io_errors, run_name_with_today
from flows.reports import ingest_markdown
from warehouse.settings import IngestSettings


@task(name="ingest-inbox", retries=2, retry_delay_seconds=10,
      retry_condition_fn=retry_only_io_errors)
def ingest_inbox_task(settings: IngestSettings):
    from warehouse.ingest import ingest

    logger = get_run_logger()

    def log_file(result, done: int, total: int) -> None:
        # Each file commits on its own: the run's log shows how far a long ingest got.
        logger.info("%s: %s (%d of %d files)", result.file_name, result.status, done, total)

    return ingest(settings, progress=log_file)


def ingest_steps(settings: IngestSettings):
    """The ingest steps inside a flow run, the caller holding the warehouse; returns the
    IngestReport."""
    from warehouse.ingest import StrictIngestError

    if settings.inbox is None:
        # The default inbox is ours to create, so the first hourly run finds it empty, not missing.
        settings.inbox_path().mkdir(parents=True, exist_ok=True)
    try:
        report = ingest_inbox_task(settings)
    except StrictIngestError as strict_failure:
        # Everything valid was loaded: say what, then fail the run as --strict asks.
        publish(ingest_markdown(strict_failure.report), key="ingest-summary",
                description="Files and rows loaded and quarantined")
        raise
    publish(ingest_markdown(report), key="ingest-summary",
            description="Files and rows loaded and quarantined")
    return report


@flow(name="ingest", flow_run_name=lambda: run_name_with_today("ingest"), log_prints=True)
def ingest(settings: IngestSettings = IngestSettings()):
    """Load the event files in the inbox; bad rows go to quarantine with their reason."""
    home = settings.norrut_home().ensure()
    with holding_the_warehouse(home, settings.lock_wait_seconds):
        return ingest_steps(settings)
