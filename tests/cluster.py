"""A real dask.distributed cluster on localhost for the shard tests: a scheduler process and
worker processes started as a user would (`dask scheduler`, `dask worker`), and a shard task
that kills its own worker once, for the kill -9 test. Workers import this module by name, so it
lives at tests/cluster.py with the repository root on their path."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.engine import WORKER_PRELOAD
from warehouse.ingest.sharded import ShardPart, store_shard_part

REPO_ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def dask_cluster(folder: Path, workers: int = 2, timeout: float = 60.0) -> Iterator[str]:
    """Start a scheduler and `workers` single-threaded worker processes; yields its address."""
    scheduler_file = folder / "scheduler.json"
    env = os.environ | {"PYTHONPATH": str(REPO_ROOT), "DASK_DISTRIBUTED__WORKER__DAEMON": "false"}
    logs = (folder / "scheduler.log").open("w"), (folder / "workers.log").open("w")
    processes = [subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
         "--port", "0", "--dashboard-address", ":0", "--scheduler-file", str(scheduler_file)],
        cwd=REPO_ROOT, env=env, stdout=logs[0], stderr=subprocess.STDOUT)]
    try:
        deadline = time.monotonic() + timeout
        while not scheduler_file.exists():
            if time.monotonic() > deadline or processes[0].poll() is not None:
                raise RuntimeError(f"the scheduler did not start: see {folder / 'scheduler.log'}")
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nworkers",
             str(workers), "--nthreads", "1", "--no-dashboard", "--preload", WORKER_PRELOAD],
            cwd=REPO_ROOT, env=env, stdout=logs[1], stderr=subprocess.STDOUT))
        from distributed import Client

        with Client(address, timeout=timeout) as client:
            client.wait_for_workers(workers, timeout=timeout)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in reversed(processes):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs:
            log.close()


def store_then_die_once(marker: str, part: ShardPart) -> dict[int, tuple[int, int, int]]:
    """store_shard_part, but the first call of the run commits its shard and then kills its own
    worker with SIGKILL before answering, as a worker lost mid-ingest would; Dask then runs the
    task again on another worker."""
    counts = store_shard_part(part)
    try:
        # whichever task gets here first creates the marker, and only that one dies
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return counts
    os.close(fd)
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("unreachable: the worker was killed")
