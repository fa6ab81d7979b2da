"""Every raw/meta/audit table and the shared views keep their stated grain on real data."""

from __future__ import annotations

import duckdb
import pytest

from tests.event_files import bad_event, good_event, write_catalog, write_csv, write_jsonl
from warehouse.checks import check_grain
from warehouse.db import open_warehouse
from warehouse.ingest.loading import ingest_inbox
from warehouse.optout import apply_optouts
from warehouse.sql_files import TableSpec, all_specs

OWN_FOLDERS = ("raw/", "meta/", "audit/", "staging/", "marts/person_eligibility")
# written only in a sharded warehouse: tests/data/test_ingest_shards.py checks their grain
SHARDED_ONLY = ("raw/shard_files.sql", "meta/shard_layout.sql")
SPECS = [spec for spec in all_specs()
         if spec.path.startswith(OWN_FOLDERS) and spec.path not in SHARDED_ONLY]


@pytest.fixture
def loaded_warehouse(home, tmp_path):
    """A warehouse after two ingests (with duplicates and bad rows), a catalog and opt-outs."""
    inbox = tmp_path / "inbox"
    write_jsonl(inbox / "a.jsonl.gz", [good_event(i) for i in range(40)]
                + [bad_event(90, "bad_device"), good_event(3)], extra_lines={5: "{oops"})
    write_csv(inbox / "b.csv", [good_event(i) for i in range(30, 60)] + [bad_event(91, "pii_email")])
    ingest_inbox(home.warehouse_path, inbox, write_catalog(tmp_path / "catalog.csv"))
    write_csv(inbox / "c.csv", [good_event(i) for i in range(55, 70)])
    ingest_inbox(home.warehouse_path, inbox, tmp_path / "catalog.csv")
    (tmp_path / "o.csv").write_text("person_id,requested_at\ncookie-000001,2026-03-05T00:00:00Z\n",
                                    encoding="utf-8")
    apply_optouts(home.warehouse_path, tmp_path / "o.csv")
    return home.warehouse_path


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_grain_holds_on_real_data(loaded_warehouse, spec):
    with open_warehouse(loaded_warehouse, read_only=True) as con:
        rows = con.execute(f"select count(*) from {spec.name}").fetchone()[0]
        problems = check_grain(con, spec)
    assert problems == []
    if spec.path.startswith(("raw/", "staging/", "marts/")):
        assert rows > 0, f"{spec.name} is empty, so the check proved nothing"


def test_every_table_file_states_grain_and_key():
    missing = [spec.path for spec in all_specs() if not spec.grain or not spec.key]
    assert missing == []


def test_check_grain_finds_repeats_and_nulls():
    # given a table whose stated key repeats and has a null
    spec = TableSpec("raw/t.sql", "table", "raw.t", "one row per thing", ("thing_id",))
    with duckdb.connect() as con:
        con.execute("create schema raw")
        con.execute("create table raw.t as select * from (values ('a'), ('a'), (null)) v(thing_id)")
        problems = check_grain(con, spec)
    # then both problems are reported
    assert len(problems) == 2
    assert "null" in problems[0] and "repeated" in problems[1]
