"""One writer at a time per warehouse, with or without a Prefect server.

DuckDB lets one process open a file read-write, and refuses every other process (readers
included) with an "IO Error: Could not set lock" traceback. Every Norrut run that touches the
warehouse therefore takes this lock first: an exclusive `flock` on `<locks_dir>/<name>.lock`.
The kernel drops a `flock` when its holder dies, so a crashed run never leaves a stale lock.
A sidecar JSON names the holder (run name, pid, host, since) so a second run that gives up can
say who is holding the warehouse.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

DEFAULT_WAIT_SECONDS = 600.0
_POLL_SECONDS = 0.2


class WarehouseBusyError(RuntimeError):
    """Another run held the warehouse for longer than this run was willing to wait."""


@dataclass(frozen=True)
class LockHolder:
    """Who holds a warehouse lock, as written to the sidecar file."""

    run_name: str
    run_id: str | None
    pid: int
    host: str
    since: str

    def describe(self) -> str:
        run = self.run_name if self.run_id is None else f"{self.run_name} (run id {self.run_id})"
        return f"{run}, pid {self.pid} on {self.host}, since {self.since}"


def lock_path_for(warehouse_path: str | os.PathLike[str], locks_dir: str | os.PathLike[str]) -> Path:
    """The lock file guarding one warehouse file."""
    return Path(locks_dir) / f"{Path(warehouse_path).name}.lock"


def read_holder(lock_path: str | os.PathLike[str]) -> LockHolder | None:
    """The holder recorded beside a lock file, or None when nobody has written one."""
    sidecar = Path(f"{lock_path}.holder.json")
    try:
        return LockHolder(**json.loads(sidecar.read_text(encoding="utf-8")))
    except (FileNotFoundError, json.JSONDecodeError, TypeError):
        # A holder that is being written right now, or none at all: nothing to name.
        return None


@contextmanager
def warehouse_writer_lock(
    warehouse_path: str | os.PathLike[str],
    locks_dir: str | os.PathLike[str],
    *,
    run_name: str,
    run_id: str | None = None,
    wait_seconds: float = DEFAULT_WAIT_SECONDS,
) -> Iterator[LockHolder]:
    """Hold the warehouse for one run; wait up to `wait_seconds`, then raise WarehouseBusyError."""
    lock_path = lock_path_for(warehouse_path, locks_dir)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    sidecar = Path(f"{lock_path}.holder.json")
    handle = open(lock_path, "a+")  # noqa: SIM115 - closed in the finally below
    try:
        _acquire(handle, lock_path, wait_seconds, warehouse_path)
        holder = LockHolder(
            run_name=run_name,
            run_id=run_id,
            pid=os.getpid(),
            host=socket.gethostname(),
            since=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        # Written only while holding the lock, then renamed, so readers never see half a file.
        partial = sidecar.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(asdict(holder)), encoding="utf-8")
        partial.replace(sidecar)
        try:
            yield holder
        finally:
            sidecar.unlink(missing_ok=True)
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        handle.close()


def _acquire(handle, lock_path: Path, wait_seconds: float,
             warehouse_path: str | os.PathLike[str]) -> None:
    deadline = time.monotonic() + max(wait_seconds, 0.0)
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                holder = read_holder(lock_path)
                held_by = holder.describe() if holder else "another run (holder not recorded)"
                raise WarehouseBusyError(
                    f"the warehouse {warehouse_path} is busy: held by {held_by}; "
                    f"gave up after waiting {wait_seconds:g} s. Let that run finish, "
                    "then start this one again."
                ) from None
            time.sleep(_POLL_SECONDS)
