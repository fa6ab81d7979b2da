"""Flow: load new event files from the inbox into the warehouse."""

from __future__ import annotations

from datetime import datetime

from prefect import flow, get_run_logger, task

from flows.common import holding_the_warehouse, publish, retry_only_io_errors, run_name_with_date
from flows.reports import ingest_markdown
from flows.settings import DEFAULT_LOCK_WAIT_SECONDS, IngestSettings
from warehouse.ingest import DEFAULT_EARLIEST_OCCURRED_AT


@task(name="ingest-inbox", retries=2, retry_delay_seconds=10,
      retry_condition_fn=retry_only_io_errors)
def ingest_inbox_task(warehouse_path: str, inbox: str, catalog: str | None, strict: bool,
                      earliest_occurred_at: datetime = DEFAULT_EARLIEST_OCCURRED_AT):
    from warehouse.ingest import ingest_inbox

    logger = get_run_logger()

    def log_file(result, done: int, total: int) -> None:
        # Each file commits on its own: the run's log shows how far a long ingest got.
        logger.info("%s: %s (%d of %d files)", result.file_name, result.status, done, total)

    return ingest_inbox(warehouse_path, inbox, catalog=catalog, strict=strict, progress=log_file,
                        earliest_occurred_at=earliest_occurred_at)


def run_ingest(settings: IngestSettings):
    """The ingest steps inside a flow run; returns the IngestReport."""
    home = settings.norrut_home().ensure()
    inbox = settings.inbox_path()
    if settings.inbox is None:
        # The default inbox is ours to create, so the first hourly run finds it empty, not missing.
        inbox.mkdir(parents=True, exist_ok=True)
    from warehouse.ingest import StrictIngestError

    with holding_the_warehouse(home, settings.lock_wait_seconds):
        try:
            report = ingest_inbox_task(str(home.warehouse_path), str(inbox), settings.catalog,
                                       settings.strict, settings.earliest_occurred_at)
        except StrictIngestError as strict_failure:
            # Everything valid was loaded: say what, then fail the run as --strict asks.
            publish(ingest_markdown(strict_failure.report), key="ingest-summary",
                    description="Files and rows loaded and quarantined")
            raise
    publish(ingest_markdown(report), key="ingest-summary",
            description="Files and rows loaded and quarantined")
    return report


@flow(name="ingest", flow_run_name=lambda: run_name_with_date("ingest"), log_prints=True)
def ingest(
    home: str | None = None,
    inbox: str | None = None,
    catalog: str | None = None,
    strict: bool = False,
    lock_wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS,
    earliest_occurred_at: datetime = DEFAULT_EARLIEST_OCCURRED_AT,
):
    """Load the event files in the inbox; bad rows go to quarantine with their reason."""
    return run_ingest(IngestSettings(home=home, inbox=inbox, catalog=catalog, strict=strict,
                                     lock_wait_seconds=lock_wait_seconds,
                                     earliest_occurred_at=earliest_occurred_at))
