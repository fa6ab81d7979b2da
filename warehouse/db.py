"""Opening the warehouse: one DuckDB file, one writer process at a time.

Pass the *path* between Prefect tasks and processes, never a connection.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from core.engine import task_threads
from warehouse.migrations import migrate

DEFAULT_MEMORY_LIMIT = "4GB"


class WarehouseMissingError(FileNotFoundError):
    """A reader asked for a warehouse that no ingest has created yet."""


_MEMORY_LIMIT = re.compile(r"\d+(\.\d+)?\s*(B|[KMGT]i?B|%)", re.IGNORECASE)


def _configure(con: duckdb.DuckDBPyConnection, temp_dir: Path | None, memory_limit: str,
               threads: int | None) -> None:
    # Literal settings, checked here, rather than bound parameters: DuckDB's Python client imports
    # pandas (over a second) the first time a statement binds a parameter, and that would be most
    # of a short command's start-up. connect(config=...) cannot be used either: a second
    # connection to the same file in one process must then repeat the first one's settings.
    if not _MEMORY_LIMIT.fullmatch(memory_limit.strip()):
        raise ValueError(f"memory limit {memory_limit!r} is not a size such as 4GB or 512MiB")
    con.execute(f"set memory_limit = '{memory_limit.strip()}'")
    if temp_dir is not None:
        temp_dir.mkdir(parents=True, exist_ok=True)
        quoted_dir = str(temp_dir).replace("'", "''")
        con.execute(f"set temp_directory = '{quoted_dir}'")
    if threads is not None:
        con.execute(f"set threads = {int(threads)}")
    con.execute("set timezone = 'UTC'")


def spill_folder_of(path: str | os.PathLike[str]) -> Path:
    """Where DuckDB spills a writer's intermediate results for the file at `path`: a folder of
    its own, since DuckDB names its spill files alike in every process (two shards' writers in
    one folder, two Dask workers at once, corrupted each other's spill files)."""
    path = Path(path)
    return path.parent / "tmp" / "duckdb" / path.stem


@contextmanager
def open_warehouse(
    path: str | os.PathLike[str],
    *,
    read_only: bool = False,
    memory_limit: str | None = None,
    threads: int | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Connect to the warehouse file; a writer also brings the schema up to date. `threads`
    unset: every core, or one in a Dask worker's shard task (core.engine.task_threads)."""
    path = Path(path)
    if read_only and not path.exists():
        raise WarehouseMissingError(f"no warehouse at {path}; run `norrut ingest` first")
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    try:
        _configure(
            con,
            None if read_only else spill_folder_of(path),
            memory_limit or os.environ.get("NORRUT_DUCKDB_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT),
            threads if threads is not None else task_threads(),
        )
        if not read_only:
            migrate(con)
        yield con
    finally:
        con.close()


@contextmanager
def one_transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Everything done in the block commits together, or not at all (rolled back on any error,
    which is raised on; a killed process never commits, so DuckDB's log replays none of it)."""
    con.execute("begin transaction")
    try:
        yield
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
