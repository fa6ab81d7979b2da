"""What the jobs that read a sharded warehouse after scoring share (the monitor, the creative
report, the lift; docs/scale-out.md): rows of the main file split by their person's shard, the content catalog handed to the shards, and the
per-person rows of every shard gathered back in one order.

A shard task gets paths (never a connection) and returns Arrow tables of its persons; the main
process concatenates them and sorts them by the key, so what it computes from them is computed
from the same rows, in the same order, as on one machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb
import pyarrow as pa

from warehouse.shards import ShardLayout
from warehouse.sql_files import read_sql


def split_by_shard(con: duckdb.DuckDBPyConnection, query: str, params: dict,
                   layout: ShardLayout, folder: Path) -> list[tuple[str, ...]]:
    """The rows of `query` (it has a person_id column) written as Parquet under `folder`, each
    with its person's shard; the files of each shard, by shard (none for a shard without rows)."""
    con.execute(read_sql("queries/shard_macros.sql"))
    # A COPY streams the rows to the files; a relation with bound parameters is run, and held,
    # first (0.8 s more for 3M rows).
    con.execute(f"copy (select norrut_shard_of(person_id, $shard_count) as shard, rows.* "
                f"from ({query}) as rows) to $folder (format parquet, partition_by (shard))",
                {**params, "shard_count": layout.shard_count, "folder": str(folder)})
    return [tuple(str(path) for path in sorted((folder / f"shard={shard}").glob("*.parquet")))
            for shard in range(layout.shard_count)]


def copy_catalog(con: duckdb.DuckDBPyConnection, folder: Path) -> str:
    """The main file's content catalog as Parquet in `folder`, for the shards' feature builds."""
    path = folder / "content_catalog.parquet"
    con.sql("select * from raw.content_catalog").to_parquet(str(path))
    return str(path)


def replace_catalog(con: duckdb.DuckDBPyConnection, catalog_path: str) -> None:
    """A shard's copy of the content catalog replaced with the main file's (in the caller's
    transaction)."""
    con.execute("delete from raw.content_catalog")
    con.execute(read_sql("queries/shard_content_catalog.sql"), {"path": catalog_path})


def gathered(parts: Sequence[pa.Table], key: Sequence[str]) -> pa.Table:
    """The shards' rows as one table, sorted by `key`: the order one machine's query gives."""
    table = pa.concat_tables(parts)
    return table.sort_by([(column, "ascending") for column in key])
