"""Ingestion follows shared/CONTRACT.md §1: validation, quarantine, dedup, formats, idempotence."""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.event_files import (
    BAD_ROW_OVERRIDES,
    bad_event,
    good_event,
    write_catalog,
    write_csv,
    write_jsonl,
    write_parquet,
)
from warehouse.ingest.loading import ingest_inbox

WRITERS = {"jsonl.gz": write_jsonl, "ndjson": write_jsonl, "csv": write_csv,
           "csv.gz": write_csv, "parquet": write_parquet}


def _query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute("set timezone = 'UTC'")
        return con.execute(sql, params or []).fetchall()


@pytest.mark.parametrize("suffix", sorted(WRITERS))
def test_each_bad_row_kind_lands_in_quarantine_with_its_reason(home, tmp_path, suffix):
    # given one good row and one row breaking each rule, in one file of this format
    rows = [good_event(1)] + [bad_event(100 + i, reason)
                              for i, reason in enumerate(BAD_ROW_OVERRIDES)]
    malformed = {"jsonl.gz": "{broken", "ndjson": "[1, 2]", "csv": "only,three,fields",
                 "csv.gz": "a,b"}.get(suffix)
    extra = {3: malformed} if malformed else None
    writer = WRITERS[suffix]
    writer(tmp_path / "inbox" / f"events.{suffix}", rows,
           **({"extra_lines": extra} if extra else {}))

    # when it is ingested
    report = ingest_inbox(home.warehouse_path, tmp_path / "inbox")

    # then the good row loads and every bad row is quarantined once, with its own reason
    expected = {reason: 1 for reason in BAD_ROW_OVERRIDES}
    if malformed:
        expected["malformed_row"] = 1
    assert report.rows_loaded == 1
    assert report.quarantined_by_reason == dict(sorted(expected.items()))
    stored = dict(_query(home.warehouse_path,
                         "select reason, count(*) from raw.quarantine_rows group by reason"))
    assert stored == expected, "quarantine table disagrees with the report"
    fields = dict(_query(home.warehouse_path,
                         "select reason, field from raw.quarantine_rows"))
    assert fields["pii_phone"] == "municipality" and fields["bad_device"] == "device"


def test_quarantined_rows_keep_their_line_numbers(home, tmp_path):
    # given a CSV whose line 3 cannot be split and whose line 5 has a bad event type
    rows = [good_event(1), good_event(2), bad_event(3, "bad_event_type"), good_event(4)]
    write_csv(tmp_path / "inbox" / "a.csv", rows, extra_lines={2: "too,few"})
    write_jsonl(tmp_path / "inbox" / "b.jsonl", rows, extra_lines={1: "", 2: "nonsense"})

    # when loaded
    ingest_inbox(home.warehouse_path, tmp_path / "inbox")

    # then quarantine points at the physical lines (header is line 1 in CSV)
    found = _query(home.warehouse_path, "select file_name, source_row_number, reason "
                   "from raw.quarantine_rows order by all")
    assert found == [("a.csv", 3, "malformed_row"), ("a.csv", 5, "bad_event_type"),
                     ("b.jsonl", 3, "malformed_row"), ("b.jsonl", 5, "bad_event_type")]
    good_rows = _query(home.warehouse_path, "select event_id from raw.events "
                       "where file_sha256 = (select file_sha256 from raw.ingest_files "
                       "where file_name = 'a.csv') order by 1")
    assert good_rows == [("evt-00000001",), ("evt-00000002",), ("evt-00000004",)]


@pytest.mark.parametrize("suffix", ["jsonl.gz", "csv", "parquet"])
def test_offsets_z_and_epoch_millis_all_land_in_utc(home, tmp_path, suffix):
    # given the same instant written three ways
    rows = [good_event(1, occurred_at="2026-03-01T18:04:05+01:00"),
            good_event(2, occurred_at="2026-03-01T17:04:05Z"),
            good_event(3, occurred_at="1772384645000")]  # epoch milliseconds
    WRITERS[suffix](tmp_path / "inbox" / f"t.{suffix}", rows)

    # when loaded
    ingest_inbox(home.warehouse_path, tmp_path / "inbox")

    # then all three are the same UTC timestamp
    stored = _query(home.warehouse_path, "select distinct occurred_at from raw.events")
    assert stored == [(datetime(2026, 3, 1, 17, 4, 5),)]


def test_epoch_millis_as_json_number_and_parquet_integer(home, tmp_path):
    # given epoch milliseconds typed as numbers
    write_jsonl(tmp_path / "inbox" / "a.jsonl", [good_event(1, occurred_at=1772384645000)])
    write_parquet(tmp_path / "inbox" / "b.parquet", [good_event(2, occurred_at=1772384645000)])
    ingest_inbox(home.warehouse_path, tmp_path / "inbox")
    stored = _query(home.warehouse_path, "select distinct occurred_at from raw.events")
    assert stored == [(datetime(2026, 3, 1, 17, 4, 5),)]


def test_csv_booleans_in_any_case(home, tmp_path):
    # given consent written as true/false/1/0 in mixed case
    values = ["true", "FALSE", "1", "0", "True"]
    rows = [good_event(i, consent=value) for i, value in enumerate(values)]
    write_csv(tmp_path / "inbox" / "a.csv", rows)

    # when loaded
    ingest_inbox(home.warehouse_path, tmp_path / "inbox")

    # then each becomes a boolean
    stored = _query(home.warehouse_path, "select event_id, consent from raw.events order by 1")
    assert [consent for _, consent in stored] == [True, False, True, False, True]


def test_unknown_columns_are_ignored_and_counted(home, tmp_path):
    # given files with columns the contract does not name
    write_csv(tmp_path / "inbox" / "a.csv", [good_event(1, utm_source="newsletter")])
    write_jsonl(tmp_path / "inbox" / "b.jsonl",
                [good_event(2, utm_term="x"), good_event(3, ab_variant="A", utm_term="y")])

    # when loaded
    report = ingest_inbox(home.warehouse_path, tmp_path / "inbox")

    # then the rows load and the unknown columns are listed per file
    assert report.rows_loaded == 3
    assert [f.unknown_columns for f in report.files] == [("utm_source",),
                                                        ("utm_term", "ab_variant")]
    counted = _query(home.warehouse_path,
                     "select sum(unknown_column_count) from raw.ingest_files")[0][0]
    assert counted == 3


def test_channel_is_lower_cased_and_kept_when_unknown(home, tmp_path):
    write_jsonl(tmp_path / "inbox" / "a.jsonl",
                [good_event(1, channel="YouTube"), good_event(2, channel="Flashy-New-Platform")])
    ingest_inbox(home.warehouse_path, tmp_path / "inbox")
    stored = _query(home.warehouse_path, "select channel from raw.events order by event_id")
    assert stored == [("youtube",), ("flashy-new-platform",)]


def test_same_inbox_twice_and_same_events_in_a_new_file_change_nothing(home, tmp_path):
    # given an inbox loaded once
    rows = [good_event(i) for i in range(10)]
    write_jsonl(tmp_path / "inbox" / "a.jsonl", rows)
    write_csv(tmp_path / "inbox" / "b.csv", [good_event(i) for i in range(10, 15)])
    first = ingest_inbox(home.warehouse_path, tmp_path / "inbox")
    before = _query(home.warehouse_path, "select * from raw.events order by event_id")

    # when the same inbox is loaded again, then the same content under a new name, then the
    # same events re-delivered in a new file of another format
    again = ingest_inbox(home.warehouse_path, tmp_path / "inbox")
    shutil.copy(tmp_path / "inbox" / "a.jsonl", tmp_path / "inbox" / "a-copy.jsonl")
    copy = ingest_inbox(home.warehouse_path, tmp_path / "inbox")
    write_parquet(tmp_path / "inbox" / "c.parquet", rows[:4])
    redelivered = ingest_inbox(home.warehouse_path, tmp_path / "inbox")

    # then the events are unchanged and only the re-delivery counts duplicates
    assert first.rows_loaded == 15
    assert again.files_already_loaded == 2 and again.rows_read == 0
    assert copy.files_already_loaded == 3 and copy.rows_read == 0, "same content, new name"
    assert redelivered.rows_loaded == 0 and redelivered.duplicates_skipped == 4
    after = _query(home.warehouse_path, "select * from raw.events order by event_id")
    assert after == before


def test_event_repeated_within_a_file_is_stored_once(home, tmp_path):
    rows = [good_event(1, channel="first"), good_event(2), good_event(1, channel="second"),
            good_event(1, channel="third")]
    write_csv(tmp_path / "inbox" / "a.csv", rows)
    report = ingest_inbox(home.warehouse_path, tmp_path / "inbox")
    assert (report.rows_loaded, report.duplicates_skipped) == (2, 2)
    kept = _query(home.warehouse_path,
                  "select channel from raw.events where event_id = 'evt-00000001'")
    assert kept == [("first",)], "the first occurrence wins"


def test_unparseable_files_are_quarantined_whole_and_the_rest_loads(home, tmp_path):
    # given a truncated gzip, binary junk, an unknown extension and one good file
    inbox = tmp_path / "inbox"
    write_jsonl(inbox / "good.jsonl.gz", [good_event(i) for i in range(50)])
    whole = gzip.compress(b"\n".join(b'{"event_id": "x%d"}' % i for i in range(5000)))
    (inbox / "cut.jsonl.gz").write_bytes(whole[: len(whole) // 2])
    (inbox / "junk.parquet").write_bytes(b"\x00\x17not parquet at all" * 50)
    (inbox / "junk.csv.gz").write_bytes(b"PK\x03\x04 a zip, not gzip" * 10)
    (inbox / "notes.xlsx").write_bytes(b"spreadsheet")

    # when loaded
    report = ingest_inbox(home.warehouse_path, inbox)

    # then each bad file is quarantined with its reason and the good one loads
    reasons = {f.file_name: (f.status, f.failure_reason) for f in report.files}
    assert reasons == {
        "cut.jsonl.gz": ("quarantined", "unreadable_file"),
        "good.jsonl.gz": ("loaded", None),
        "junk.csv.gz": ("quarantined", "unreadable_file"),
        "junk.parquet": ("quarantined", "unreadable_file"),
        "notes.xlsx": ("quarantined", "unknown_extension"),
    }
    assert report.rows_loaded == 50
    stored = dict(_query(home.warehouse_path,
                         "select file_name, failure_reason from raw.ingest_files "
                         "where status = 'quarantined'"))
    assert stored["cut.jsonl.gz"] == "unreadable_file"
    assert not _query(home.warehouse_path,
                      "select * from raw.events where event_id like 'x%'"), "nothing of the cut file"


def test_strict_raises_with_the_report_after_loading_everything(home, tmp_path):
    from warehouse.ingest.reports import StrictIngestError

    write_csv(tmp_path / "inbox" / "a.csv", [good_event(1), bad_event(2, "bad_device")])
    with pytest.raises(StrictIngestError) as raised:
        ingest_inbox(home.warehouse_path, tmp_path / "inbox", strict=True)
    assert raised.value.report.rows_loaded == 1
    assert _query(home.warehouse_path, "select count(*) from raw.events") == [(1,)]


def test_catalog_is_upserted_and_bad_rows_reported(home, tmp_path):
    # given a valid catalog, then a JSON catalog that changes one item and has bad rows
    write_csv(tmp_path / "inbox" / "a.csv", [good_event(1)])
    ingest_inbox(home.warehouse_path, tmp_path / "inbox", write_catalog(tmp_path / "catalog.csv"))
    update = tmp_path / "catalog.jsonl"
    update.write_text(
        '{"content_id": "film-000", "kind": "film", "duration_seconds": 100, '
        '"themes": ["coast", "Mountains"]}\n'
        '{"content_id": "film-009", "kind": "podcast", "themes": ["coast"]}\n'
        '{"content_id": "film-010", "kind": "film", "themes": ["coast"]}\n'
        '{"content_id": "img-011", "kind": "image", "themes": []}\n'
        '{"content_id": "img-012", "kind": "image", "themes": ["coast"], '
        '"title": "mail me at a.b@example.com"}\n', encoding="utf-8")

    # when the update is loaded
    report = ingest_inbox(home.warehouse_path, tmp_path / "inbox", update)

    # then the good row replaced the old one and each bad row is reported by row and reason
    assert report.catalog.rejected == [(2, "bad_kind"), (3, "bad_duration_seconds"),
                                       (4, "missing_themes"), (5, "pii_email")]
    stored = _query(home.warehouse_path, "select content_id, duration_seconds, themes "
                    "from raw.content_catalog order by 1")
    assert stored[0] == ("film-000", 100.0, ["coast", "mountains"])
    assert len(stored) == 3


def test_content_refused_for_its_extension_loads_when_renamed(home, tmp_path):
    # given a CSV delivered as .txt, quarantined for its extension
    inbox = tmp_path / "inbox"
    write_csv(inbox / "events.csv", [good_event(1), good_event(2)])
    (inbox / "events.csv").rename(inbox / "events.txt")
    first = ingest_inbox(home.warehouse_path, inbox)

    # when the producer re-delivers the same bytes as .csv
    (inbox / "events.txt").rename(inbox / "events.csv")
    second = ingest_inbox(home.warehouse_path, inbox)

    # then it loads, and the manifest holds one row for that content
    assert first.files[0].failure_reason == "unknown_extension"
    assert (second.files_loaded, second.rows_loaded) == (1, 2)
    assert _query(home.warehouse_path, "select file_name, status from raw.ingest_files") == [
        ("events.csv", "loaded")]


@pytest.mark.parametrize("suffix", ["json", "parquet"])
def test_catalog_in_json_array_and_parquet_form(home, tmp_path, suffix):
    # given a catalog with a themes list, as a JSON array file or as Parquet
    items = [{"content_id": "film-100", "kind": "film", "duration_seconds": 60.0,
              "themes": ["forest", "tech_jobs"], "municipality": "Boden",
              "published_at": "2026-02-01T10:00:00+01:00"},
             {"content_id": "img-101", "kind": "image", "duration_seconds": None,
              "themes": ["coast"], "municipality": None, "published_at": None}]
    path = tmp_path / f"catalog.{suffix}"
    if suffix == "json":
        path.write_text(json.dumps(items), encoding="utf-8")
    else:
        pq.write_table(pa.Table.from_pylist(items), path)
    (tmp_path / "inbox").mkdir()

    # when loaded with an empty inbox
    report = ingest_inbox(home.warehouse_path, tmp_path / "inbox", path)

    # then both items are stored with their themes and UTC publication time
    assert report.catalog.rejected == []
    stored = _query(home.warehouse_path, "select content_id, themes, published_at "
                    "from raw.content_catalog order by 1")
    assert stored == [("film-100", ["forest", "tech_jobs"], datetime(2026, 2, 1, 9, 0)),
                      ("img-101", ["coast"], None)]
