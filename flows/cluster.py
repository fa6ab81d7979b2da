"""Flow runs on a Dask cluster (docs/scale-out.md): the flows' task runner follows
$NORRUT_DASK_SCHEDULER (prefect-dask's DaskTaskRunner on a cluster, Prefect's thread pool on one
machine), and a step that runs per shard submits each shard's task to it as a task run of its
own, named after the step and the shard, so the Prefect UI shows every shard's share.

A shard file held by another writer makes its task wait, not fail: the task run goes to
AwaitingRetry with a message saying which shard is busy, and tries again a moment later.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import duckdb
from prefect import Task, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.futures import wait
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from core.engine import ShardRunner, configured_engine, local_cluster, local_cluster_options
from core.settings import DEFAULT_LOCK_WAIT_SECONDS
from warehouse.status import is_writer_lock_conflict

Item = TypeVar("Item")
Result = TypeVar("Result")

# A busy shard is tried again every few seconds, for as long as a run waits for the warehouse
# by default; then its task run fails.
SHARD_BUSY_RETRY_SECONDS = 5.0
SHARD_BUSY_RETRIES = int(DEFAULT_LOCK_WAIT_SECONDS // SHARD_BUSY_RETRY_SECONDS)


class ShardBusyError(RuntimeError):
    """Another process holds a shard's DuckDB file; the shard's task waits and tries again."""


class EngineTaskRunner(ThreadPoolTaskRunner):
    """The flows' task runner: made at import, chosen when a flow run starts (Prefect
    duplicates a flow's task runner for each run), so $NORRUT_DASK_SCHEDULER of the process
    that runs the flow decides, a deployment's job variables included."""

    def duplicate(self) -> TaskRunner:
        engine = configured_engine()
        if not engine.uses_dask:
            return ThreadPoolTaskRunner(max_workers=self._max_workers)
        from prefect_dask import DaskTaskRunner

        if engine.kind == "cluster":
            return DaskTaskRunner(address=engine.address)
        return DaskTaskRunner(cluster_class=local_cluster,
                              cluster_kwargs=local_cluster_options(engine))


def flow_shard_runner(step_name: str) -> ShardRunner | None:
    """The ShardRunner of the current flow run when its task runner is a Dask cluster's;
    None otherwise (the step then runs its shards as it would outside a flow)."""
    context = FlowRunContext.get()
    if context is None or not configured_engine().uses_dask:
        return None
    from prefect_dask import DaskTaskRunner

    if not isinstance(context.task_runner, DaskTaskRunner):
        return None
    return lambda shard_task, items: _run_as_task_runs(step_name, shard_task, items)


def _run_as_task_runs(step_name: str, shard_task: Callable[[Item], Result],
                      items: Sequence[Item]) -> list[Result]:
    """Each item (a shard's task: it names its shard's file as `shard_path`) a task run
    submitted to the flow's task runner; the first failure is raised after every task run
    ended, so no shard is still writing when the step reports it."""
    prefect_task = _shard_task(step_name, shard_task)
    futures = [prefect_task.with_options(task_run_name=f"{step_name}-{_shard_name(item)}")
               .submit(item) for item in items]
    wait(futures)
    return [future.result() for future in futures]


def _shard_name(item: Any) -> str:
    return Path(item.shard_path).stem  # shard-003


def _shard_task(step_name: str, shard_task: Callable[[Item], Result]) -> Task:
    def run_shard(item: Item) -> Result:
        try:
            return shard_task(item)
        except duckdb.IOException as error:
            if not is_writer_lock_conflict(error):
                raise
            busy = (f"{_shard_name(item)} is busy: another process holds {item.shard_path}; "
                    f"waiting {SHARD_BUSY_RETRY_SECONDS:g} s, then trying again")
            get_run_logger().warning("%s", busy)  # the task run's log in the UI says why
            raise ShardBusyError(busy) from error

    # Never cached: a shard's task writes its file, and its item names paths, not contents.
    return task(run_shard, name=f"{step_name}-shard", cache_policy=NO_CACHE,
                retries=SHARD_BUSY_RETRIES, retry_delay_seconds=SHARD_BUSY_RETRY_SECONDS,
                retry_condition_fn=_shard_was_busy)


def _shard_was_busy(task, task_run, state) -> bool:
    """Retry a shard's task only while its file was held by another writer."""
    return isinstance(state.result(raise_on_failure=False), ShardBusyError)
