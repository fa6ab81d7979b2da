"""Opt-outs (shared/CONTRACT.md §3): nothing about the person remains; later events dropped."""

from __future__ import annotations

import hashlib

import duckdb

from tests.event_files import PII_EMAIL, good_event, write_csv, write_jsonl
from warehouse.db import open_warehouse
from warehouse.ingest.loading import ingest_inbox
from warehouse.optout import apply_optouts

GONE = "cookie-000003"
OBJECTS = "cookie-000004"


def _write_optouts(path, rows: list[str]):
    path.write_text("person_id,requested_at,kind\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_optout_removes_everything_and_later_events_are_dropped(home, tmp_path):
    # given events of several persons, and a person table a later issue registered
    write_jsonl(tmp_path / "inbox" / "a.jsonl", [good_event(i) for i in range(28)])
    ingest_inbox(home.warehouse_path, tmp_path / "inbox")
    with open_warehouse(home.warehouse_path) as con:
        con.execute("create table if not exists features.test_profile as "
                    "select distinct person_id, 1.0 as score from raw.events")
        con.execute("insert or replace into meta.person_tables values "
                    "('features.test_profile', 'person_id', 'test')")
    optouts = _write_optouts(tmp_path / "optouts.csv", [
        f"{GONE},2026-03-02T10:00:00Z,erasure", f"{OBJECTS},2026-03-02T10:00:00+01:00,objection",
        f"{PII_EMAIL},2026-03-02T10:00:00Z,", "short,2026-03-02T10:00:00Z,",
        "cookie-000005,not a time,", "cookie-000006,2026-03-02T10:00:00Z,forget-me"])

    # when the opt-outs are applied, then new events of the person arrive
    report = apply_optouts(home.warehouse_path, optouts)
    write_csv(tmp_path / "inbox" / "b.csv", [good_event(100 + i) for i in range(14)])
    later = ingest_inbox(home.warehouse_path, tmp_path / "inbox")

    # then no row about either person remains, later events are dropped and counted,
    # only hashes are kept, and bad opt-out rows are reported by reason
    assert report.rows_removed["raw.events"] == 8
    assert report.rows_removed["features.test_profile"] == 2
    assert (report.erasures, report.objections) == (1, 1)
    assert report.rejected == [(3, "pii_email"), (4, "bad_person_id"), (5, "bad_requested_at"),
                               (6, "bad_kind")]
    assert later.suppressed_dropped == 4 and later.rows_loaded == 10
    with duckdb.connect(str(home.warehouse_path), read_only=True) as con:
        for table in ("raw.events", "features.test_profile"):
            left = con.execute(f"select count(*) from {table} where person_id in (?, ?)",
                               [GONE, OBJECTS]).fetchone()[0]
            assert left == 0, f"{table} still holds an opted-out person"
        keys = {row[0] for row in con.execute(
            "select person_key from raw.suppressed_persons").fetchall()}
        audit = con.execute("select persons_requested, rows_rejected from audit.optout_runs"
                            ).fetchall()
    assert keys == {hashlib.sha256(p.encode()).hexdigest() for p in (GONE, OBJECTS)}
    assert audit == [(2, 4)]


def test_optout_rerun_changes_nothing(home, tmp_path):
    write_jsonl(tmp_path / "inbox" / "a.jsonl", [good_event(i) for i in range(14)])
    ingest_inbox(home.warehouse_path, tmp_path / "inbox")
    optouts = _write_optouts(tmp_path / "o.csv", [f"{GONE},2026-03-02T10:00:00Z,objection"])
    first = apply_optouts(home.warehouse_path, optouts)
    second = apply_optouts(home.warehouse_path, optouts)
    assert first.rows_removed["raw.events"] == 2
    assert second.rows_removed["raw.events"] == 0
    with duckdb.connect(str(home.warehouse_path), read_only=True) as con:
        assert con.execute("select count(*) from raw.suppressed_persons").fetchone()[0] == 1


def test_every_table_with_a_person_id_is_registered(home):
    # given a fully migrated warehouse
    with open_warehouse(home.warehouse_path) as con:
        with_person = {f"{schema}.{table}" for schema, table in con.execute(
            "select c.schema_name, c.table_name from duckdb_columns() c "
            "join duckdb_tables() t using (schema_name, table_name) "
            "where c.column_name = 'person_id' and not t.temporary").fetchall()}
        registered = {row[0] for row in con.execute(
            "select table_name from meta.person_tables").fetchall()}
    # then erasure reaches each of them
    assert with_person, "raw.events at least holds person_id"
    missing = sorted(with_person - registered)
    assert missing == [], f"tables with person_id not in meta.person_tables: {missing}"


def test_an_optout_file_name_with_glob_characters_reads_only_that_file(home, tmp_path):
    # given an opt-out file whose name DuckDB would read as a glob, and a file that glob matches
    write_jsonl(tmp_path / "inbox" / "a.jsonl", [good_event(i) for i in range(14)])
    ingest_inbox(home.warehouse_path, tmp_path / "inbox")
    _write_optouts(tmp_path / "optoutsn.csv", [f"{OBJECTS},2026-03-02T10:00:00Z,erasure"])
    optouts = _write_optouts(tmp_path / "optouts[nov].csv", [f"{GONE},2026-03-02T10:00:00Z,erasure"])
    # when that file is applied
    apply_optouts(home.warehouse_path, optouts)
    # then only its person is gone
    with open_warehouse(home.warehouse_path) as con:
        left = {row[0] for row in con.execute("select distinct person_id from raw.events").fetchall()}
    assert GONE not in left and OBJECTS in left
