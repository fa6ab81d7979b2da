"""Pieces every flow shares: the writer lock named after the run, run naming, the default
as-of date and publishing the run's summary as a Prefect artifact."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, date, datetime

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run

from core.home import NorrutHome
from core.locking import WarehouseBusyError, warehouse_writer_lock

WRITER_SLOT_LEASE_SECONDS = 60.0


def retry_only_io_errors(task, task_run, state) -> bool:
    """Retry a failed task only when the file system or network failed; bad input or
    deterministic SQL would fail the same way again."""
    return isinstance(state.result(raise_on_failure=False), OSError)


@contextmanager
def holding_the_warehouse(home: NorrutHome, wait_seconds: float) -> Iterator[None]:
    """Take the warehouse writer lock in this run's name, so a waiting run can say who holds it.

    On a Prefect server (PREFECT_API_URL set) the run first takes the warehouse's slot of a
    global concurrency limit, so the UI's Concurrency page shows who holds the warehouse and
    who waits; the file lock stays underneath for runs started without a server.
    """
    run_name = flow_run.get_name() or f"pid-{os.getpid()}"
    run_id = flow_run.get_id()
    get_run_logger().info("Waiting up to %g s for the warehouse %s", wait_seconds,
                          home.warehouse_path)
    slot = (writer_concurrency_slot(home, wait_seconds) if os.environ.get("PREFECT_API_URL")
            else nullcontext())
    with slot, warehouse_writer_lock(home.warehouse_path, home.locks_dir, run_name=run_name,
                                     run_id=run_id, wait_seconds=wait_seconds):
        yield


def writer_limit_name(home: NorrutHome) -> str:
    """The global concurrency limit guarding one warehouse file (one per home on a server)."""
    digest = hashlib.sha256(str(home.warehouse_path).encode()).hexdigest()[:12]
    return f"norrut-warehouse-{digest}"


@contextmanager
def writer_concurrency_slot(home: NorrutHome, wait_seconds: float) -> Iterator[None]:
    """Hold the warehouse's one slot on the Prefect server, creating the limit on first use."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.concurrency.sync import concurrency
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    name = writer_limit_name(home)
    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            try:
                client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(name=name, limit=1))
            except ObjectAlreadyExists:
                pass  # another run created it a moment ago
    get_run_logger().info("Taking the slot of concurrency limit %s (the warehouse %s)", name,
                          home.warehouse_path)
    acquired = False
    try:
        # A short lease, renewed while the run lives, frees the slot soon after a killed run.
        with concurrency(name, occupy=1, timeout_seconds=wait_seconds, strict=True,
                         lease_duration=WRITER_SLOT_LEASE_SECONDS):
            acquired = True
            yield
    except TimeoutError:
        if acquired:
            raise  # the run's own time-out, not the wait for the slot
        raise WarehouseBusyError(
            f"the warehouse {home.warehouse_path} is busy: the slot of concurrency limit {name} "
            f"stayed taken for {wait_seconds:g} s (see Concurrency in the Prefect UI). Let that "
            "run finish, then start this one again.") from None


def rename_run(name: str) -> None:
    """Give the current flow run a name that carries its as-of date (known only once resolved)."""
    run_id = flow_run.get_id()
    if run_id is None:
        return
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        client.update_flow_run(run_id, name=name)


def run_name_with_date(prefix: str) -> str:
    """A flow-run name carrying the run's as-of date when its settings give one, else "latest"
    (the run is renamed once the date is resolved)."""
    settings = flow_run.get_parameters().get("settings")
    if hasattr(settings, "model_dump"):
        settings = settings.model_dump(mode="json")
    as_of = (settings or {}).get("as_of")
    return f"{prefix}-{as_of}" if as_of else f"{prefix}-latest"


def run_name_with_today(prefix: str) -> str:
    """A flow-run name for a job without an as-of date, such as ingest: today's date (UTC)."""
    return f"{prefix}-{datetime.now(UTC).date().isoformat()}"


@task(name="resolve-as-of", retries=2, retry_delay_seconds=2,
      retry_condition_fn=retry_only_io_errors)
def resolve_as_of(as_of: date | None, home: NorrutHome, run_prefix: str) -> date:
    """The as-of date given, else the day after the last event; the run is renamed
    <run_prefix>-<date> once it is known."""
    from warehouse.as_of import resolve_as_of as resolve

    resolved = resolve(home.warehouse_path, as_of)
    rename_run(f"{run_prefix}-{resolved.isoformat()}")
    return resolved


def publish(markdown: str, key: str, description: str) -> None:
    """Publish a run summary where the marketing team reads it: the run's Artifacts tab."""
    create_markdown_artifact(markdown=markdown, key=key, description=description)
