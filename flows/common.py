"""Pieces every flow shares: the writer lock named after the run, run naming, publishing the
run's summary as a Prefect artifact, and FlowRun, which runs a job's steps (flows/jobs.py) as
the tasks of a flow run."""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from prefect import Task, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run

from core.home import NorrutHome
from core.locking import WarehouseBusyError, lock_path_for, read_holder, warehouse_writer_lock
from flows.cluster import flow_shard_runner
from flows.steps import Step, run_name, run_name_of_today

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
        # The slot's holder has no name on the server; the file lock's sidecar names the run
        # writing now (a run that just gave up may hold the slot a moment longer: its release
        # reaches the server after it ends).
        holder = read_holder(lock_path_for(home.warehouse_path, home.locks_dir))
        held_by = f"held by {holder.describe()}; " if holder else ""
        raise WarehouseBusyError(
            f"the warehouse {home.warehouse_path} is busy: {held_by}the slot of concurrency "
            f"limit {name} stayed taken for {wait_seconds:g} s (see Concurrency in the Prefect "
            "UI). Let that run finish, then start this one again.") from None


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
    return run_name(prefix, flow_run.get_parameters().get("settings"))


def run_name_with_today(prefix: str) -> str:
    """A flow-run name for a job without an as-of date, such as ingest: today's date (UTC)."""
    return run_name_of_today(prefix)


def publish(markdown: str, key: str, description: str) -> None:
    """Publish a run summary where the marketing team reads it: the run's Artifacts tab."""
    create_markdown_artifact(markdown=markdown, key=key, description=description)


def _log_progress(done: int, total: int, what: str, rows: int = 0) -> None:
    # Each file (or stage step) is logged as it ends: the run's log shows how far it got.
    get_run_logger().info("%s (%d of %d)", what, done, total)


def _call_step(step: Step, *args: Any, **keywords: Any) -> Any:
    if step.reports_progress:
        keywords["progress"] = _log_progress
    if step.runs_on_shards:
        # on a cluster, each shard's task a task run of the flow's DaskTaskRunner
        keywords["shard_runner"] = flow_shard_runner(step.name)
    return step.function(*args, **keywords)


_TASKS: dict[str, Task] = {}


def task_of(step: Step) -> Task:
    """The Prefect task that runs `step` in a flow run (made once per step)."""
    if step.name not in _TASKS:
        retries = {"retries": step.retries, "retry_delay_seconds": step.retry_delay_seconds,
                   "retry_condition_fn": retry_only_io_errors} if step.retries else {}

        @functools.wraps(step.function)  # so the task run shows the step's own parameters,
        def run_step(*args: Any, **keywords: Any) -> Any:
            return _call_step(step, *args, **keywords)

        # but `progress` and `shard_runner`, which the flow run gives (a function is not a
        # run's parameter)
        signature = inspect.signature(step.function)
        run_step.__signature__ = signature.replace(parameters=[
            parameter for parameter in signature.parameters.values()
            if parameter.name not in ("progress", "shard_runner")])
        _TASKS[step.name] = task(name=step.name, **retries)(run_step)
    return _TASKS[step.name]


class FlowRun:
    """Runs a job's steps inside the current Prefect flow run: each step a task, the summary an
    artifact, the writer lock named after the run (flows/steps.py:JobRun)."""

    def holding_the_warehouse(self, home: NorrutHome,
                              wait_seconds: float) -> AbstractContextManager[None]:
        return holding_the_warehouse(home, wait_seconds)

    def run(self, step: Step, *args: Any) -> Any:
        return task_of(step)(*args)

    def rename(self, name: str) -> None:
        rename_run(name)

    def log(self, message: str) -> None:
        get_run_logger().info("%s", message)

    def publish(self, markdown: str, key: str, description: str) -> None:
        publish(markdown, key, description)
