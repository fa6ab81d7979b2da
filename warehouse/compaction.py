"""Rewriting the warehouse file so that deleted rows leave no byte behind (shared/CONTRACT.md §3).

DuckDB deletes rows logically: their values stay in the file's blocks (string dictionaries
included) until the blocks happen to be reused, and neither CHECKPOINT nor VACUUM rewrites
them. After an erasure the live database is therefore copied into a fresh file beside it
(COPY FROM DATABASE keeps schemas, tables with their primary keys and checks, views, persistent
macros, sequences and indexes; tests/code/test_erasure.py checks it) and the fresh file is renamed
over the old one.

The caller holds the warehouse writer lock (core.locking), so nothing writes meanwhile. A
crash before the rename leaves the old file whole, with its log (a leftover fresh file is
removed by the next compaction); the rename itself is atomic, so a crash after it leaves the
new file whole. DuckDB's spill files are deleted last: they may hold pages of the old file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from warehouse.db import open_warehouse

FRESH_SUFFIX = ".compacting"
FRESH_ALIAS = "norrut_compacted"


class CompactionError(RuntimeError):
    """The warehouse could not be rewritten; the old file is still the warehouse."""


@dataclass(frozen=True)
class CompactionReport:
    bytes_before: int
    bytes_after: int
    spill_files_removed: int


def compact_warehouse(warehouse_path: str | os.PathLike[str]) -> CompactionReport:
    """Copy the warehouse into a fresh file and swap it in; hold the writer lock around it."""
    path = Path(warehouse_path)
    fresh = fresh_path_for(path)
    remove_fresh_leftovers(path)
    bytes_before = path.stat().st_size
    try:
        spill_dir = _copy_into(path, fresh)
        for database in (path, fresh):
            # A log left beside either file would be replayed into the other after the rename.
            if wal_path_for(database).exists():
                raise CompactionError(f"{wal_path_for(database)} is still there after a "
                                      "checkpoint; the warehouse was left as it was")
        _sync_file(fresh)
        os.replace(fresh, path)
    except BaseException:
        remove_fresh_leftovers(path)
        raise
    _sync_folder(path.parent)
    return CompactionReport(bytes_before, path.stat().st_size, remove_spill_files(spill_dir))


def fresh_path_for(warehouse_path: Path) -> Path:
    """The hidden file a compaction builds beside the warehouse."""
    return warehouse_path.with_name(f".{warehouse_path.name}{FRESH_SUFFIX}")


def wal_path_for(database_path: Path) -> Path:
    """DuckDB's write-ahead log of a database file."""
    return database_path.with_name(f"{database_path.name}.wal")


def remove_fresh_leftovers(warehouse_path: Path) -> None:
    """Delete a fresh file (and its log) that a crashed compaction left: it holds person data."""
    fresh = fresh_path_for(warehouse_path)
    for leftover in (fresh, wal_path_for(fresh)):
        leftover.unlink(missing_ok=True)


def remove_spill_files(spill_dir: Path | None) -> int:
    """Delete every file in DuckDB's temporary folder (no connection is open); how many."""
    if spill_dir is None or not spill_dir.is_dir():
        return 0
    removed = 0
    for entry in spill_dir.rglob("*"):
        if entry.is_file() or entry.is_symlink():
            entry.unlink(missing_ok=True)
            removed += 1
    return removed


def _copy_into(path: Path, fresh: Path) -> Path | None:
    """Copy every object of the warehouse into `fresh`; returns DuckDB's spill folder."""
    with open_warehouse(path) as con:
        # Everything committed goes into the file now, so closing leaves no log behind.
        con.execute("checkpoint")
        spill_dir = con.execute("select current_setting('temp_directory')").fetchone()[0]
        current = con.execute("select current_database()").fetchone()[0]
        # ATTACH and COPY take no bound parameters: the path is quoted as a literal, the
        # database name (DuckDB's, from the file name) as an identifier.
        literal = str(fresh).replace("'", "''")
        identifier = current.replace('"', '""')
        con.execute(f"attach '{literal}' as {FRESH_ALIAS}")
        try:
            con.execute(f'copy from database "{identifier}" to {FRESH_ALIAS}')
        finally:
            con.execute(f"detach {FRESH_ALIAS}")
    return Path(spill_dir) if spill_dir else None


def _sync_file(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
