"""Ingest into a sharded warehouse: the main warehouse checks each batch once, as on a single
machine, and keeps the manifest and the quarantine; each shard stores its persons' valid rows in
a task of its own (on a Dask worker, or here one after another), deduplicated by event_id within
the shard, which is exact because an event belongs to one person and a person to one shard.

A shard commits its share of a batch with its raw.shard_files rows before the main warehouse
commits the batch's manifest rows. A run killed in between leaves the files out of the manifest:
the rerun checks them again and each shard, finding them in raw.shard_files, stores nothing twice
and reads its counts back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from core.engine import ShardRunner
from warehouse.db import one_transaction, open_warehouse
from warehouse.ingest.batch import ingest_scratch, store_checked_events
from warehouse.shards import ShardLayout
from warehouse.sql_files import read_sql
from warehouse.staging import shard_staging


@dataclass(frozen=True)
class ShardPart:
    """One shard's share of a batch, as its task gets it: paths, never a connection."""

    shard_path: str
    part_paths: tuple[str, ...]
    suppressed_path: str
    # the batch's files by position (1-based): their contents' sha256
    file_sha256s: tuple[str, ...]


@dataclass(frozen=True)
class ShardedEvents:
    """The EventStore of a sharded warehouse (warehouse.ingest.batch.EventStore)."""

    layout: ShardLayout
    run_on_shards: ShardRunner

    def store(self, con: duckdb.DuckDBPyConnection,
              file_sha256s: list[str]) -> dict[int, tuple[int, int, int]]:
        with shard_staging(self.layout, "batch") as batch_dir:
            return self._store_staged(con, file_sha256s, batch_dir)

    def _store_staged(self, con: duckdb.DuckDBPyConnection, file_sha256s: list[str],
                      batch_dir: Path) -> dict[int, tuple[int, int, int]]:
        try:
            con.execute(read_sql("queries/shard_macros.sql"))
            con.execute(read_sql("queries/shard_batch_persons.sql"),
                        {"shard_count": self.layout.shard_count})
            suppressed_path = batch_dir / "suppressed_persons.parquet"
            con.sql("select * from raw.suppressed_persons").to_parquet(str(suppressed_path))
            parts = []
            for shard in _shards_with_rows(con):
                part_path = batch_dir / f"shard-{shard:03d}.parquet"
                con.execute(read_sql("queries/shard_valid_events.sql"),
                            {"shard": shard, "path": str(part_path)})
                parts.append(ShardPart(str(self.layout.shard_path(shard)), (str(part_path),),
                                       str(suppressed_path), tuple(file_sha256s)))
            counts: dict[int, tuple[int, int, int]] = {}
            for shard_counts in self.run_on_shards(store_shard_part, parts):
                for position, (valid, suppressed, duplicates) in shard_counts.items():
                    total_valid, total_suppressed, total_duplicates = counts.get(
                        position, (0, 0, 0))
                    counts[position] = (total_valid + valid, total_suppressed + suppressed,
                                        total_duplicates + duplicates)
            return counts
        finally:
            con.execute("drop table if exists temp.main.ingest_person_shards")


def _shards_with_rows(con: duckdb.DuckDBPyConnection) -> list[int]:
    """The shards that hold a person of the batch's valid rows, in order."""
    return [shard for (shard,) in con.execute(
        "select distinct shard from ingest_person_shards order by shard").fetchall()]


def store_shard_part(part: ShardPart) -> dict[int, tuple[int, int, int]]:
    """A shard's task: its share of the batch into its raw.events, in one transaction with its
    raw.shard_files rows; the counts by file position, read back for files stored before."""
    positions = {sha256: position for position, sha256 in enumerate(part.file_sha256s, start=1)}
    with open_warehouse(part.shard_path) as con:
        stored = {positions[sha256]: (valid, suppressed, duplicates)
                  for sha256, valid, suppressed, duplicates in con.execute(
                      "select file_sha256, valid_rows, suppressed_rows, duplicate_rows "
                      "from raw.shard_files where list_contains(?, file_sha256)",
                      [list(part.file_sha256s)]).fetchall()}
        try:
            with ingest_scratch(con):
                con.execute(read_sql("queries/shard_checked_events.sql"),
                            {"part_paths": list(part.part_paths),
                             "stored_positions": sorted(stored)})
                stored_at = datetime.now(UTC)
                with one_transaction(con):
                    con.execute(read_sql("queries/shard_suppressed_persons.sql"),
                                {"path": part.suppressed_path})
                    counts = store_checked_events(con, list(part.file_sha256s))
                    for position, (valid, suppressed, duplicates) in sorted(counts.items()):
                        con.execute(read_sql("queries/insert_shard_file.sql"), {
                            "file_sha256": part.file_sha256s[position - 1],
                            "valid_rows": valid, "suppressed_rows": suppressed,
                            "duplicate_rows": duplicates, "stored_at": stored_at})
        finally:
            con.execute("drop table if exists temp.main.ingest_skipped")
    return counts | stored
