"""A warehouse split by person into shards, for a Dask cluster (docs/scale-out.md).

The main warehouse file keeps what every shard shares (the manifest of loaded files, the
quarantine, the catalog, the opt-out list, the audit); each shard is a warehouse file of its
own, <home>/shards/shard-NNN.duckdb, with the same schema, holding the events of its persons.
An event goes to shard `shard_of(person_id, shard_count)`: every per-person step runs on one
shard, with nothing shuffled, and each shard has one writer at a time (the task for that shard).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from warehouse.db import open_warehouse

DEFAULT_SHARD_COUNT = 16
MAX_SHARD_COUNT = 4096


class ShardLayoutError(RuntimeError):
    """The warehouse cannot be sharded as asked (it holds events already, or is sharded)."""


def shard_of(person_id: str, shard_count: int) -> int:
    """The shard of a canonical person_id; the same as shard_macros.sql's norrut_shard_of."""
    digest = hashlib.md5(person_id.encode("utf-8"), usedforsecurity=False).digest()
    # DuckDB's md5_number_upper: the digest's first 8 bytes read little-endian
    return int.from_bytes(digest[:8], "little") % shard_count


@dataclass(frozen=True)
class ShardLayout:
    shard_count: int
    shards_dir: Path

    def shard_path(self, shard: int) -> Path:
        if not 0 <= shard < self.shard_count:
            raise ValueError(f"shard {shard} is not one of 0..{self.shard_count - 1}")
        return self.shards_dir / f"shard-{shard:03d}.duckdb"

    def shard_paths(self) -> list[Path]:
        return [self.shard_path(shard) for shard in range(self.shard_count)]


def shards_dir_of(warehouse_path: str | os.PathLike[str]) -> Path:
    """The shard files sit beside the main warehouse file, in shards/."""
    return Path(warehouse_path).parent / "shards"


def layout_of(con: duckdb.DuckDBPyConnection,
              warehouse_path: str | os.PathLike[str]) -> ShardLayout | None:
    """The layout recorded in the main warehouse `con` opened; None when it is not sharded
    (or was made by a Norrut before shards, and not opened by a writer since)."""
    if not con.execute("select count(*) from duckdb_tables() where schema_name = 'meta' "
                       "and table_name = 'shard_layout'").fetchone()[0]:
        return None
    row = con.execute("select shard_count from meta.shard_layout").fetchone()
    return None if row is None else ShardLayout(row[0], shards_dir_of(warehouse_path))


def read_layout(warehouse_path: str | os.PathLike[str]) -> ShardLayout | None:
    """layout_of, opening the warehouse read-only; None when there is no warehouse yet."""
    if not Path(warehouse_path).exists():
        return None
    with open_warehouse(warehouse_path, read_only=True) as con:
        return layout_of(con, warehouse_path)


def create_shards(warehouse_path: str | os.PathLike[str],
                  shard_count: int = DEFAULT_SHARD_COUNT) -> ShardLayout:
    """Make a warehouse sharded: record the layout and create each shard's file. Only a
    warehouse that holds no events yet (the count is fixed for good once events are stored).
    The caller holds the writer lock."""
    if not 1 <= shard_count <= MAX_SHARD_COUNT:
        raise ShardLayoutError(f"a shard count must be 1 to {MAX_SHARD_COUNT}, not {shard_count}")
    with open_warehouse(warehouse_path) as con:
        existing = layout_of(con, warehouse_path)
        if existing is not None:
            if existing.shard_count != shard_count:
                raise ShardLayoutError(
                    f"the warehouse is sharded already, in {existing.shard_count} shards; a "
                    "shard count never changes, so that every person keeps its shard")
            layout = existing
        else:
            if con.execute("select count(*) from raw.events").fetchone()[0]:
                raise ShardLayoutError(
                    "the warehouse holds events already; shard a new warehouse (a new "
                    "NORRUT_HOME) and load the inbox into it")
            layout = ShardLayout(shard_count, shards_dir_of(warehouse_path))
            # the shard files first: a layout is recorded only once they all exist
            _create_shard_files(layout)
            con.execute("insert into meta.shard_layout values (?, ?)",
                        [shard_count, datetime.now(UTC)])
    _create_shard_files(layout)
    return layout


def _create_shard_files(layout: ShardLayout) -> None:
    layout.shards_dir.mkdir(parents=True, exist_ok=True)
    for path in layout.shard_paths():
        with open_warehouse(path):
            pass  # a writer's open applies the migrations
