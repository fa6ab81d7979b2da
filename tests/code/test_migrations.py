"""A warehouse made by an older schema version upgrades in place when opened."""

from __future__ import annotations

import hashlib

import duckdb

from tests.event_files import good_event, write_jsonl
from warehouse.db import open_warehouse
from warehouse.ingest.loading import ingest_inbox
from warehouse.migrations import LATEST_VERSION, current_version, migrate


def test_v1_warehouse_migrates_with_its_data_intact(home, tmp_path):
    # given a v1 warehouse holding an event and a file record (v1 has no suppressed_dropped)
    with duckdb.connect(str(home.warehouse_path)) as con:
        assert migrate(con, target=1) == (0, 1)
        con.execute("insert into raw.events values ('evt-1', timestamp '2026-03-01 10:00:00', "
                    "'cookie-000001', 'cookie', 'view', 'film-1', null, 'meta', null, 'SE-AB', "
                    "'mobile', true, null, 'abc', 1)")
        con.execute("insert into raw.ingest_files values ('abc', 'old.jsonl', 'jsonl', 'loaded', "
                    "1, 1, 0, 0, [], 0, null, 0.1, now())")
        columns = {row[0] for row in con.execute(
            "select column_name from duckdb_columns() where table_name = 'ingest_files'"
        ).fetchall()}
        assert "suppressed_dropped" not in columns

    # when a writer opens it, then ingests a re-delivery of that event
    with open_warehouse(home.warehouse_path) as con:
        version = current_version(con)
        kept = con.execute("select event_id, person_id from raw.events").fetchall()
        event_columns = {row[0] for row in con.execute(
            "select column_name from duckdb_columns() where table_name = 'events'").fetchall()}
        dropped = con.execute("select suppressed_dropped from raw.ingest_files").fetchall()
    write_jsonl(tmp_path / "inbox" / "new.jsonl",
                [good_event(1, event_id="evt-1"), good_event(2)])
    report = ingest_inbox(home.warehouse_path, tmp_path / "inbox")

    # then it is at the latest version, the old rows are there, and old events still dedup
    assert version == LATEST_VERSION
    assert kept == [("evt-1", "cookie-000001")]
    assert dropped == [(0,)], "the new column is filled for old rows"
    assert "source_row_number" not in event_columns, "v5 dropped the events' line numbers"
    assert (report.rows_loaded, report.duplicates_skipped) == (1, 1)


def test_migrating_twice_is_a_no_op(home):
    with open_warehouse(home.warehouse_path) as con:
        before = con.execute("select version from meta.schema_version order by 1").fetchall()
    with open_warehouse(home.warehouse_path) as con:
        assert migrate(con) == (LATEST_VERSION, LATEST_VERSION)
        assert con.execute("select version from meta.schema_version order by 1").fetchall() == before


def test_v6_stores_every_maid_lower_case_and_drops_derived_rows_of_recased_persons(home):
    # given a v5 warehouse holding one MAID's events in both cases, an upper-case event of an
    # opted-out MAID, a cookie id with capitals (not a UUID), and derived rows: a holdout row
    # of the upper-case MAID, a score of its lower-case twin, and of an untouched person
    maid = "fb46f81c-1000-448a-bd06-be27838dce0e"
    erased = "0b9f5a1e-2222-4c3d-9e8f-a1b2c3d4e5f6"
    with duckdb.connect(str(home.warehouse_path)) as con:
        assert migrate(con, target=5) == (0, 5)
        for number, person_id, id_type in (
                (1, maid.upper(), "maid"), (2, maid, "maid"), (3, erased.upper(), "maid"),
                (4, "Cookie-ABCdef-01", "cookie")):
            con.execute("insert into raw.events values (?, timestamp '2026-03-01 10:00:00', ?, "
                        "?, 'view', 'film-1', null, 'meta', null, 'SE-AB', 'mobile', true, "
                        "null, 'abc')", [f"evt-{number}", person_id, id_type])
        con.execute("insert into raw.suppressed_persons values (?, 'erasure', "
                    "timestamp '2026-03-01 00:00:00', now())",
                    [hashlib.sha256(erased.encode()).hexdigest()])
        con.execute("insert into marts.segment_holdouts values ('top', date '2026-03-02', ?, "
                    "'maid', 0.5, 'm', '1', 1, now())", [maid.upper()])
        for person_id in (maid, "Cookie-ABCdef-01"):
            con.execute("insert into marts.person_scores values (?, 'maid', date '2026-03-02', "
                        "'m', '1', 'run', 0.5, now())", [person_id])

    # when a writer opens it
    with open_warehouse(home.warehouse_path) as con:
        version = current_version(con)
        events = con.execute("select event_id, person_id from raw.events order by 1").fetchall()
        holdouts = con.execute("select person_id from marts.segment_holdouts").fetchall()
        scores = con.execute("select person_id from marts.person_scores").fetchall()

    # then the MAID is one lower-case person, the opted-out MAID's event is gone, the cookie
    # id is as given, and the derived rows of the re-cased MAID are gone (to be rebuilt)
    assert version == LATEST_VERSION
    assert events == [("evt-1", maid), ("evt-2", maid), ("evt-4", "Cookie-ABCdef-01")]
    assert holdouts == [], "a non-canonical id"
    assert scores == [("Cookie-ABCdef-01",)], "the lower-case twin of a re-cased id is stale"
