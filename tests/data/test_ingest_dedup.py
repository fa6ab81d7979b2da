"""Dedup when an event_id is both repeated within a file and already stored (insert_events.sql
finds the two kinds of repeat separately and drops their union)."""

from __future__ import annotations

import duckdb

from tests.event_files import good_event, write_csv, write_jsonl
from warehouse.ingest.loading import ingest_inbox


def test_ids_repeated_in_a_file_and_already_stored_are_each_stored_once(home, tmp_path):
    # given events 1 and 2 already stored
    write_jsonl(tmp_path / "inbox" / "a.jsonl", [good_event(1), good_event(2)])
    ingest_inbox(home.warehouse_path, tmp_path / "inbox")

    # when a file brings 2 twice (already stored), 3 twice (new) and 1 once (already stored)
    rows = [good_event(2), good_event(3, channel="first"), good_event(2), good_event(1),
            good_event(3, channel="second")]
    write_csv(tmp_path / "inbox" / "b.csv", rows)
    report = ingest_inbox(home.warehouse_path, tmp_path / "inbox")

    # then only the first 3 is new, and every other row counts as a duplicate
    assert (report.rows_read, report.rows_loaded, report.duplicates_skipped) == (5, 1, 4)
    with duckdb.connect(str(home.warehouse_path), read_only=True) as con:
        stored = con.execute("select event_id, count(*) from raw.events group by event_id "
                             "order by event_id").fetchall()
        kept_3 = con.execute("select channel from raw.events "
                             "where event_id = 'evt-00000003'").fetchall()
    assert stored == [("evt-00000001", 1), ("evt-00000002", 1), ("evt-00000003", 1)]
    assert kept_3 == [("first",)], "the first occurrence in the file wins"
