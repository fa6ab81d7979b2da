"""Staging folders under <home>/shards/staging/: one run's files for its shard tasks (a batch's
shares of an ingest, the catalog, snapshot parts, rows split by shard), on the storage every
worker reads, removed when the run's block ends.

A run killed with kill -9 cannot remove its folder, and at 1e8 events one holds gigabytes. So
each folder has an owner lock beside it (`<folder>.lock`), held by the run with `flock` while it
uses the folder; the kernel drops it when the run dies. Each new staging folder first removes
the folders whose lock no live run holds, so a killed run's files go with the next run's start.
"""

from __future__ import annotations

import fcntl
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from warehouse.shards import ShardLayout

LOCK_SUFFIX = ".lock"


def staging_root(layout: ShardLayout) -> Path:
    return layout.shards_dir / "staging"


@contextmanager
def shard_staging(layout: ShardLayout, job: str) -> Iterator[Path]:
    """A new folder under <home>/shards/staging/ for one run's files, held by this process and
    removed after the block; abandoned folders of killed runs are removed first."""
    root = staging_root(layout)
    root.mkdir(parents=True, exist_ok=True)
    remove_abandoned_staging(root)
    folder = root / f"{job}-{uuid.uuid4().hex}"
    with open(f"{folder}{LOCK_SUFFIX}", "a+") as owner:
        # taken before the folder exists: a sweep never sees the folder without its owner
        fcntl.flock(owner, fcntl.LOCK_EX)
        try:
            folder.mkdir()
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            Path(f"{folder}{LOCK_SUFFIX}").unlink(missing_ok=True)


def remove_abandoned_staging(root: Path) -> list[Path]:
    """The staging folders under `root` whose owner lock no live process holds, removed with
    their locks; the folders removed. A folder that is held is never touched."""
    removed = []
    for lock_path in sorted(root.glob(f"*{LOCK_SUFFIX}")):
        folder = lock_path.with_name(lock_path.name.removesuffix(LOCK_SUFFIX))
        try:
            # read-only: opening must not create a lock its run has just removed
            handle = open(lock_path)  # noqa: SIM115 - closed in the finally below
        except FileNotFoundError:  # its run ended meanwhile
            continue
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # a live run's
                continue
            shutil.rmtree(folder, ignore_errors=True)
            lock_path.unlink(missing_ok=True)
            removed.append(folder)
        finally:
            handle.close()
    return removed
