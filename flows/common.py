"""Pieces every flow shares: the writer lock named after the run, run naming, the default
as-of date and publishing the run's summary as a Prefect artifact."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run

from flows.settings import day_after
from norrut.home import NorrutHome
from norrut.locking import warehouse_writer_lock


def retry_only_io_errors(task, task_run, state) -> bool:
    """Retry a failed task only when the file system or network failed; bad input or
    deterministic SQL would fail the same way again."""
    return isinstance(state.result(raise_on_failure=False), OSError)


@contextmanager
def holding_the_warehouse(home: NorrutHome, wait_seconds: float) -> Iterator[None]:
    """Take the warehouse writer lock in this run's name, so a waiting run can say who holds it."""
    run_name = flow_run.get_name() or f"pid-{os.getpid()}"
    run_id = flow_run.get_id()
    get_run_logger().info("Waiting up to %g s for the warehouse %s", wait_seconds,
                          home.warehouse_path)
    with warehouse_writer_lock(home.warehouse_path, home.locks_dir, run_name=run_name,
                               run_id=run_id, wait_seconds=wait_seconds):
        yield


def rename_run(name: str) -> None:
    """Give the current flow run a name that carries its as-of date (known only once resolved)."""
    run_id = flow_run.get_id()
    if run_id is None:
        return
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        client.update_flow_run(run_id, name=name)


def run_name_with_date(prefix: str) -> str:
    """A flow-run name carrying the run's date: the as-of parameter when given; "latest" for a
    flow that resolves its as-of date while running (it renames the run then); today's date
    (UTC) for a flow without one, such as ingest."""
    parameters = flow_run.get_parameters()
    if "as_of" not in parameters:
        return f"{prefix}-{datetime.now(UTC).date().isoformat()}"
    as_of = parameters["as_of"]
    return f"{prefix}-{as_of}" if as_of else f"{prefix}-latest"


def last_event_date(warehouse_path) -> date | None:
    """The UTC date of the newest event in the warehouse, or None when there is none."""
    from warehouse.status import warehouse_status

    if not os.path.exists(warehouse_path):
        return None
    last_event_at = warehouse_status(warehouse_path)["last_event_at"]
    if last_event_at is None:
        return None
    return datetime.fromisoformat(last_event_at).date()


@task(name="resolve-as-of", retries=2, retry_delay_seconds=2,
      retry_condition_fn=retry_only_io_errors)
def resolve_as_of(as_of: date | None, warehouse_path: str) -> date:
    """The as-of date given, else the day after the last event in the warehouse."""
    if as_of is not None:
        return as_of
    return day_after(last_event_date(warehouse_path), datetime.now(UTC).date())


def publish(markdown: str, key: str, description: str) -> None:
    """Publish a run summary where the marketing team reads it: the run's Artifacts tab."""
    create_markdown_artifact(markdown=markdown, key=key, description=description)
