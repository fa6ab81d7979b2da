"""Which engine runs the per-shard steps: this machine alone (the default), a LocalCluster of
worker processes started for the run, or a running Dask cluster (docs/scale-out.md).

Chosen by $NORRUT_DASK_SCHEDULER: unset or empty is the single machine; `local:N` starts a
LocalCluster of N worker processes; `tcp://host:8786` (or `tls://...`) connects to a scheduler.
Dask is imported only when a cluster is used, so a single-machine command starts as fast as before.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, TypeVar

if TYPE_CHECKING:
    from distributed import Client, LocalCluster

Item = TypeVar("Item")
Result = TypeVar("Result")

SCHEDULER_ENV_VAR = "NORRUT_DASK_SCHEDULER"
_LOCAL = re.compile(r"^local:(\d+)$")
_ADDRESS = re.compile(r"^(tcp|tls|inproc|ws|wss)://\S+$")
# A LocalCluster on one machine: more workers than this is a typo, not a plan.
_MAX_LOCAL_WORKERS = 256
# Thread limits distributed's Nanny sets (`distributed.nanny.pre-spawn-environ`) in the
# environment of the process that starts the workers, "even if this means poisoning" it: in a
# command that started a LocalCluster, LightGBM then ran on one thread (measured: an export's
# SHAP contributions of 221 k persons took 25 s instead of 13.5 s). local_cluster gives them
# to the workers alone.
_WORKER_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
# Every worker's preload (`dask worker --preload` on a real cluster, docs/scale-out.md).
WORKER_PRELOAD = "core.worker_warmup"


class EngineConfigError(ValueError):
    """$NORRUT_DASK_SCHEDULER holds something that names no engine."""


@dataclass(frozen=True)
class Engine:
    kind: Literal["single", "local", "cluster"]
    # workers of a LocalCluster (kind "local"); the scheduler's address (kind "cluster")
    local_workers: int | None = None
    address: str | None = None

    @property
    def uses_dask(self) -> bool:
        return self.kind != "single"

    def describe(self) -> str:
        """In words, for `norrut status` and run summaries."""
        if self.kind == "single":
            return "single machine"
        if self.kind == "local":
            plural = "es" if self.local_workers != 1 else ""
            return f"Dask LocalCluster of {self.local_workers} worker process{plural}"
        return f"Dask cluster at {self.address}"


SINGLE_MACHINE = Engine("single")


def engine_from(value: str | None) -> Engine:
    """The engine a $NORRUT_DASK_SCHEDULER value names; EngineConfigError if it names none."""
    text = (value or "").strip()
    if not text:
        return SINGLE_MACHINE
    local = _LOCAL.match(text)
    if local:
        workers = int(local.group(1))
        if not 1 <= workers <= _MAX_LOCAL_WORKERS:
            raise EngineConfigError(
                f"{SCHEDULER_ENV_VAR}={text}: a LocalCluster needs 1 to {_MAX_LOCAL_WORKERS} "
                "workers")
        return Engine("local", local_workers=workers)
    if _ADDRESS.match(text):
        return Engine("cluster", address=text)
    raise EngineConfigError(
        f"{SCHEDULER_ENV_VAR}={text!r} names no engine: leave it unset for this machine alone, "
        "give local:N for N local worker processes, or a scheduler address such as "
        "tcp://scheduler:8786")


def configured_engine() -> Engine:
    """The engine $NORRUT_DASK_SCHEDULER selects."""
    return engine_from(os.environ.get(SCHEDULER_ENV_VAR))


@contextmanager
def dask_client(engine: Engine) -> Iterator[Client]:
    """A client of the engine's cluster for the block; a LocalCluster is started for it and
    stopped after."""
    if not engine.uses_dask:
        raise ValueError("the single-machine engine has no Dask client")
    from distributed import Client

    if engine.kind == "cluster":
        with Client(engine.address) as client:
            yield client
        return
    with local_cluster(**local_cluster_options(engine)) as cluster, Client(cluster) as client:
        yield client


def local_cluster_options(engine: Engine) -> dict[str, object]:
    """The LocalCluster of a `local:N` engine, for dask_client and a flow's DaskTaskRunner alike:
    N worker processes sharing this machine's cores (each task slot a core: task_threads), each
    worker's thread limits in its own environment, LightGBM imported as it starts
    (WORKER_PRELOAD), no dashboard."""
    threads = max(1, (os.cpu_count() or 1) // (engine.local_workers or 1))
    return {"n_workers": engine.local_workers, "threads_per_worker": threads, "processes": True,
            "dashboard_address": None,
            "env": {variable: str(threads) for variable in _WORKER_THREAD_VARIABLES},
            "preload": [WORKER_PRELOAD]}


def local_cluster(**options: object) -> LocalCluster:
    """distributed.LocalCluster(**options), started without setting the workers' thread limits
    in this process's own environment (_WORKER_THREAD_VARIABLES): pass them as `env`."""
    import dask
    from distributed import LocalCluster

    pre_spawn = {name: value
                 for name, value in dask.config.get("distributed.nanny.pre-spawn-environ").items()
                 if name not in _WORKER_THREAD_VARIABLES}
    # read by each Nanny when it is made, and kept for its restarts
    with dask.config.set({"distributed.nanny.pre-spawn-environ": pre_spawn}):
        return LocalCluster(**options)


def task_threads() -> int | None:
    """How many threads a DuckDB statement of this process may use: one inside a Dask worker,
    where each of the worker's threads (`dask worker --nthreads`) runs a shard task at once and
    stands for one core, so the tasks together use the worker's cores and no more (measured:
    opt-outs of 9.6 M events on two single-threaded workers, 15.1 s with DuckDB's default of
    every core per task, 12.8 s with one); None elsewhere, DuckDB's default of every core."""
    if "distributed" not in sys.modules:  # a worker has imported it; a command need not
        return None
    from distributed import get_worker

    try:
        get_worker()
    except ValueError:
        return None
    return 1


class ShardRunner(Protocol):
    """Runs one task per item (a shard's share of a step) and returns the results in order."""

    def __call__(self, task: Callable[[Item], Result], items: Sequence[Item]) -> list[Result]:
        ...


def run_here(task: Callable[[Item], Result], items: Sequence[Item]) -> list[Result]:
    """The shards one after another in this process: a sharded warehouse without a cluster."""
    return [task(item) for item in items]


def runner_on(client: Client) -> ShardRunner:
    """Each item a task of the client's cluster; the first failure is raised here, after every
    task has finished, so no shard is still writing when the step reports it."""

    def run(task: Callable[[Item], Result], items: Sequence[Item]) -> list[Result]:
        futures = client.map(task, list(items), pure=False)
        from distributed import wait

        wait(futures)
        return client.gather(futures)

    return run


@contextmanager
def given_or_configured(shard_runner: ShardRunner | None) -> Iterator[ShardRunner | None]:
    """`shard_runner` when the caller gives one (a flow run's, flows/cluster.py), else
    configured_shard_runner()'s for the block."""
    if shard_runner is not None:
        yield shard_runner
        return
    with configured_shard_runner() as configured:
        yield configured


@contextmanager
def configured_shard_runner() -> Iterator[ShardRunner | None]:
    """The runner of the engine $NORRUT_DASK_SCHEDULER selects, for the block; None for the
    single machine (a sharded warehouse then runs its shards here, one after another)."""
    engine = configured_engine()
    if not engine.uses_dask:
        yield None
        return
    with dask_client(engine) as client:
        yield runner_on(client)
