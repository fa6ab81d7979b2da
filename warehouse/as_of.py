"""The one default as-of date of every job: the day after the newest event (UTC), so a
warehouse loaded up to yesterday is scored "today"."""

from __future__ import annotations

import os
from datetime import date, timedelta

import duckdb


class NoEventsError(LookupError):
    """The warehouse holds no event, so there is no default as-of date."""


_NEWEST_EVENT_DATE = "select max(occurred_at)::date from raw.events"


def newest_event_date(con: duckdb.DuckDBPyConnection,
                      warehouse_path: str | os.PathLike[str]) -> date | None:
    """The UTC date of the newest event in the warehouse `con` opened at `warehouse_path`, or
    in its shards; None when it holds no event."""
    from warehouse.db import open_warehouse
    from warehouse.shards import layout_of

    layout = layout_of(con, warehouse_path)
    if layout is None:
        return con.execute(_NEWEST_EVENT_DATE).fetchone()[0]
    dates = []
    for path in layout.shard_paths():
        with open_warehouse(path, read_only=True) as shard:
            dates.append(shard.execute(_NEWEST_EVENT_DATE).fetchone()[0])
    return max((found for found in dates if found is not None), default=None)


def default_as_of(con: duckdb.DuckDBPyConnection,
                  warehouse_path: str | os.PathLike[str]) -> date:
    """The day after the newest event's date (occurred_at is stored in UTC), in the warehouse
    `con` opened at `warehouse_path`, or in its shards."""
    newest = newest_event_date(con, warehouse_path)
    if newest is None:
        raise NoEventsError("the warehouse holds no events, so there is no default as-of date; "
                            "load events with `norrut ingest`, or give --as-of")
    return newest + timedelta(days=1)


def resolve_as_of(warehouse_path: str | os.PathLike[str], as_of: date | None) -> date:
    """`as_of` when given, else the default, read from the warehouse without writing to it."""
    if as_of is not None:
        return as_of
    from warehouse.db import open_warehouse

    with open_warehouse(warehouse_path, read_only=True) as con:
        return default_as_of(con, warehouse_path)
