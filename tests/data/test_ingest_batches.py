"""A batch of files read at once must store exactly what the same files store loaded one by one,
each in its own transaction, with JSON lines read line by line: the same rows, the same
quarantine with the same line numbers, the same manifest."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import duckdb
import pytest

from simulator.world import WorldSettings, simulate_world
from tests.event_files import (
    PII_EMAIL,
    good_event,
    write_csv,
    write_generated_events,
    write_jsonl,
    write_parquet,
)
from warehouse.ingest.files import format_of
from warehouse.ingest.loading import ingest_inbox
from warehouse.optout import apply_optouts

# Every stored column that does not record when or how long.
COMPARED = {
    "raw.events": "*",
    "raw.quarantine_rows": "* exclude (quarantined_at)",
    "raw.ingest_files": "* exclude (seconds, ingested_at)",
}
WRITERS = {".csv": write_csv, ".jsonl": write_jsonl, ".parquet": write_parquet}


# the everyday way, and each file on its own with every JSON line read as text
WAYS = {"batched": {}, "one_by_one": {"batch_max_files": 1, "json_line_by_line": True}}


def _load_both_ways(inbox: Path, tmp_path: Path, *, before=None):
    """Ingest `inbox` into two fresh warehouses, batched and one file at a time;
    `before(warehouse)` runs on each first. Returns the two reports and warehouse paths."""
    reports, warehouses = [], []
    for way, options in WAYS.items():
        warehouse = tmp_path / f"{way}.duckdb"
        if before is not None:
            before(warehouse)
        reports.append(ingest_inbox(warehouse, inbox, **options))
        warehouses.append(warehouse)
    return reports, warehouses


def _assert_same_tables(batched: Path, one_by_one: Path) -> None:
    with duckdb.connect(str(batched), read_only=True) as con:
        con.execute(f"attach '{one_by_one}' as other (read_only)")
        for table, columns in COMPARED.items():
            for left, right in ((table, f"other.{table}"), (f"other.{table}", table)):
                differing = con.execute(
                    f"select count(*) from (select {columns} from {left} "
                    f"except all select {columns} from {right})").fetchone()[0]
                assert differing == 0, f"{table} differs between the two ways"


def test_clean_files_of_every_format_store_the_same_both_ways(tmp_path):
    # given clean files in all formats, ids repeated inside a file and across files
    inbox = tmp_path / "inbox"
    write_generated_events(inbox / "a.csv", 0, 3000)
    write_generated_events(inbox / "b.csv.gz", 2500, 3000)
    write_generated_events(inbox / "c.jsonl", 5000, 3000)
    write_generated_events(inbox / "d.jsonl.gz", 7000, 2000)
    write_generated_events(inbox / "e.parquet", 8500, 3000)
    # when both ways load them
    (batched, one_by_one), (batched_db, one_by_one_db) = _load_both_ways(inbox, tmp_path)
    # then the stored tables are the same
    assert batched.duplicates_skipped == one_by_one.duplicates_skipped > 500
    assert batched.rows_loaded == one_by_one.rows_loaded
    _assert_same_tables(batched_db, one_by_one_db)


def test_suppressed_persons_are_dropped_and_counted_alike(tmp_path):
    # given opted-out persons whose events arrive afterwards, one of them twice
    inbox = tmp_path / "inbox"
    write_generated_events(inbox / "a.csv", 0, 2000, persons=50)
    write_csv(inbox / "b.csv", [good_event(1), good_event(8)])
    write_csv(inbox / "c.csv", [good_event(1), good_event(15)])
    optouts = tmp_path / "optouts.csv"
    optouts.write_text("person_id,requested_at\nck_000000000007,2026-01-01T00:00:00Z\n"
                       "cookie-000001,2026-01-01T00:00:00Z\n")

    def opt_out(warehouse: Path) -> None:
        apply_optouts(warehouse, optouts)

    # when both ways load the inbox
    (batched, one_by_one), (batched_db, one_by_one_db) = _load_both_ways(
        inbox, tmp_path, before=opt_out)
    # then both drop and count the same rows
    assert batched.suppressed_dropped == one_by_one.suppressed_dropped > 0
    assert batched.duplicates_skipped == one_by_one.duplicates_skipped
    _assert_same_tables(batched_db, one_by_one_db)


# Rows the cheap screen of check_events.sql cannot prove clean: each takes the full check.
NEEDS_FULL_CHECK = {
    "leading_blank": {"campaign_id": " spring-2026"},
    "trailing_blank": {"municipality": "Luleå "},
    "bad_row": {"event_type": "purchase"},
    "pii_in_free_text": {"campaign_id": PII_EMAIL},
    "phone_like_watch_seconds": {"watch_seconds": "01234.56"},
    "future": {"occurred_at": "2999-01-01T00:00:00Z"},
    "pii_in_unknown_column": {"contact": PII_EMAIL},
}


@pytest.mark.parametrize("suffix", sorted(WRITERS))
@pytest.mark.parametrize("case", sorted(NEEDS_FULL_CHECK))
def test_a_row_the_screen_cannot_prove_clean_is_checked_in_full(tmp_path, suffix, case):
    # given a file of good rows with one row the cheap screen must not take as it is
    inbox = tmp_path / "inbox"
    rows = [good_event(n) for n in range(1, 6)]
    rows[2] = good_event(3, **NEEDS_FULL_CHECK[case])
    WRITERS[suffix](inbox / f"events{suffix}", rows)
    # when both ways load it
    (batched, _), (batched_db, one_by_one_db) = _load_both_ways(inbox, tmp_path)
    # then the outcome is the same, and only that row can be quarantined
    assert batched.rows_read == 5 and batched.rows_quarantined <= 1
    _assert_same_tables(batched_db, one_by_one_db)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_unknown_columns_are_counted_alike(tmp_path, suffix):
    # given good rows, one with a column the contract does not name
    inbox = tmp_path / "inbox"
    rows = [good_event(n) for n in range(1, 6)]
    rows[2] = good_event(3, referrer="newsletter")
    WRITERS[suffix](inbox / f"events{suffix}", rows)
    # when both ways load it
    (batched, one_by_one), (batched_db, one_by_one_db) = _load_both_ways(inbox, tmp_path)
    # then the manifest lists the column
    assert batched.files[0].unknown_columns == one_by_one.files[0].unknown_columns == (
        "referrer",)
    _assert_same_tables(batched_db, one_by_one_db)


def test_unusual_layouts_store_the_same_both_ways(tmp_path):
    inbox = tmp_path / "inbox"
    rows = [good_event(n) for n in range(1, 6)]
    # an event_id twice in one file: file order decides which copy stays
    write_csv(inbox / "repeat.csv", [*rows, good_event(2, channel="tiktok")])
    write_parquet(inbox / "repeat.parquet", [*rows, good_event(2, channel="tiktok")])
    # a blank line, which readers skip and which would shift the line numbers after it
    write_jsonl(inbox / "blank.jsonl", rows, extra_lines={2: ""})
    write_csv(inbox / "blank.csv", rows, extra_lines={3: ""})
    # a JSON key given twice (the second value would escape the personal-data check)
    write_jsonl(inbox / "twice.jsonl", rows[:2],
                extra_lines={1: '{"event_id": "evt-x", "municipality": "Luleå", '
                                '"municipality": "' + PII_EMAIL + '"}'})
    # a header that names a contract field in other letters, and one that leaves one out
    write_csv(inbox / "upper.csv", rows, columns=["EVENT_ID", *list(rows[0])[1:]])
    write_csv(inbox / "no_municipality.csv", rows, columns=list(rows[0])[:-1])
    # a CSV field quoted over two lines
    write_csv(inbox / "multiline.csv", [good_event(1, campaign_id="spring\n2026")])
    # a line longer than the longest line DuckDB reads
    write_csv(inbox / "long.csv", [*rows, good_event(9, campaign_id="x" * 3_000_000)])
    (batched, _), (batched_db, one_by_one_db) = _load_both_ways(inbox, tmp_path)
    results = {result.file_name: result for result in batched.files}
    # (the same five events in every file: only the first file's copies are stored)
    assert results["long.csv"].rows_read == 6
    assert results["long.csv"].quarantined_by_reason == {"malformed_row": 1}
    assert results["twice.jsonl"].quarantined_by_reason == {"pii_email": 1}
    assert results["blank.csv"].rows_loaded == 5 and results["blank.jsonl"].rows_read == 5
    _assert_same_tables(batched_db, one_by_one_db)


@pytest.mark.slow
@pytest.mark.parametrize("faults", [True, False])
def test_a_simulated_world_loads_the_same_both_ways(tmp_path, faults):
    # given a small simulated world, with every planted fault or none
    world = tmp_path / "world"
    simulate_world(world, WorldSettings(persons=600, days=21, seed=11, faults=faults))
    inbox = tmp_path / "inbox"
    shutil.copytree(world / "inbox", inbox)
    # when both ways load it
    (batched, one_by_one), (batched_db, one_by_one_db) = _load_both_ways(inbox, tmp_path)
    # then the outcome is the same
    assert batched.quarantined_by_reason == one_by_one.quarantined_by_reason
    assert batched.duplicates_skipped == one_by_one.duplicates_skipped
    _assert_same_tables(batched_db, one_by_one_db)

def test_json_values_of_every_type_are_read_alike_by_both_json_readers(tmp_path):
    # given JSON lines whose numbers, booleans and timestamps come in every form JSON allows
    inbox = tmp_path / "inbox"
    lines = [
        ('{"event_id": "evt-1", "occurred_at": 1772366400000, "person_id": "cookie-000001", '
         '"id_type": "cookie", "event_type": "video_progress", "content_id": "film-001", '
         '"watch_seconds": 12, "consent": 1}'),
        ('{"event_id": "evt-2", "occurred_at": "2026-03-01T13:00:00+01:00", '
         '"person_id": "cookie-000002", "id_type": "cookie", "event_type": "video_progress", '
         '"content_id": "film-001", "watch_seconds": 1.25e1, "consent": "TRUE", '
         '"channel": "Meta"}'),
        ('{"event_id": "evt-3", "occurred_at": "2026-03-01T12:00:00Z", '
         '"person_id": "cookie-000003", "id_type": "cookie", "event_type": "click", '
         '"content_id": "film-002", "watch_seconds": "12.50", "consent": false, '
         '"region": null, "device": "ctv"}'),
    ]
    (inbox).mkdir()
    (inbox / "forms.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    # when both ways load it
    (batched, _), (batched_db, one_by_one_db) = _load_both_ways(inbox, tmp_path)
    # then it loaded every row, with the same stored values
    assert batched.rows_loaded == 3
    _assert_same_tables(batched_db, one_by_one_db)


def test_a_bad_row_in_a_batch_costs_only_itself(tmp_path):
    # given clean files around one with a bad row, all sharing some event ids
    inbox = tmp_path / "inbox"
    write_generated_events(inbox / "a.csv", 0, 2000)
    write_jsonl(inbox / "b.jsonl", [good_event(n) for n in range(1, 4)]
                + [good_event(4, event_type="purchase")])
    write_generated_events(inbox / "c.parquet", 1500, 2000)
    write_generated_events(inbox / "d.jsonl.gz", 3000, 1000)
    # when both ways load them
    (batched, one_by_one), (batched_db, one_by_one_db) = _load_both_ways(inbox, tmp_path)
    # then only the bad row is quarantined, and the batch stores what the files one by one do
    assert [result.rows_quarantined for result in batched.files] == [0, 1, 0, 0]
    assert batched.duplicates_skipped == one_by_one.duplicates_skipped > 0
    _assert_same_tables(batched_db, one_by_one_db)


def test_files_of_one_batch_keep_the_name_order_rules(tmp_path):
    # given, in one batch: CSV headers in two orders; an event whose first copy belongs to an
    # opted-out person and whose second copy does not; the same content under a second name
    inbox = tmp_path / "inbox"
    rows = [good_event(n) for n in range(1, 6)]
    write_csv(inbox / "a.csv", rows)
    write_csv(inbox / "b.csv", [good_event(n) for n in range(4, 9)],
              columns=list(reversed(list(rows[0]))))
    write_jsonl(inbox / "c.jsonl", [good_event(20, person_id="cookie-opted-out")])
    write_parquet(inbox / "d.parquet", [good_event(20, person_id="cookie-000042"),
                                        good_event(21)])
    shutil.copy(inbox / "a.csv", inbox / "e-copy-of-a.csv")
    optouts = tmp_path / "optouts.csv"
    optouts.write_text("person_id,requested_at\ncookie-opted-out,2026-01-01T00:00:00Z\n")

    def opt_out(warehouse: Path) -> None:
        apply_optouts(warehouse, optouts)

    # when both ways load them
    (batched, one_by_one), (batched_db, one_by_one_db) = _load_both_ways(
        inbox, tmp_path, before=opt_out)
    # then the outcome is the one of loading the files one by one, in name order
    assert [r.status for r in batched.files] == [r.status for r in one_by_one.files]
    assert batched.files[-1].status == "already_loaded"
    assert [(r.rows_loaded, r.duplicates_skipped, r.suppressed_dropped) for r in batched.files] \
        == [(r.rows_loaded, r.duplicates_skipped, r.suppressed_dropped)
            for r in one_by_one.files]
    assert batched.files[1].duplicates_skipped == 2  # events 4 and 5, first stored from a.csv
    assert batched.files[3].duplicates_skipped == 0  # event 20's first copy was not stored
    _assert_same_tables(batched_db, one_by_one_db)


def test_batches_split_by_size_store_the_same(tmp_path):
    # given overlapping clean files and batches of at most two files
    inbox = tmp_path / "inbox"
    for index, first in enumerate((0, 800, 1600, 2400, 3200)):
        write_generated_events(inbox / f"{index}.csv", first, 1000)
    # when they load in batches of two files, and one by one
    two = ingest_inbox(tmp_path / "two.duckdb", inbox, batch_max_files=2)
    (_, one_by_one), (_, one_by_one_db) = _load_both_ways(inbox, tmp_path)
    batched, batched_db = two, tmp_path / "two.duckdb"
    # then the outcome is the same
    assert batched.duplicates_skipped == one_by_one.duplicates_skipped == 4 * 200
    _assert_same_tables(batched_db, one_by_one_db)


def test_file_names_with_glob_characters_name_only_their_own_file(tmp_path):
    # given files whose names DuckDB would read as globs, next to files those globs would match
    inbox = tmp_path / "inbox"
    write_csv(inbox / "events[1].csv", [good_event(1)])
    write_csv(inbox / "events1.csv", [good_event(2)])
    write_jsonl(inbox / "hour*.jsonl", [good_event(3)])
    write_jsonl(inbox / "hour-2.jsonl", [good_event(4)])
    write_parquet(inbox / "day?.parquet", [good_event(5)])
    write_parquet(inbox / "day5.parquet", [good_event(6)])
    # when both ways load them
    (batched, one_by_one), (batched_db, one_by_one_db) = _load_both_ways(inbox, tmp_path)
    # then every file loaded its own single row
    assert [result.rows_loaded for result in batched.files] == [1] * 6
    assert [result.rows_loaded for result in one_by_one.files] == [1] * 6
    with duckdb.connect(str(batched_db), read_only=True) as con:
        stored = con.execute(
            "select files.file_name, events.event_id from raw.events as events "
            "join raw.ingest_files as files using (file_sha256) order by files.file_name"
        ).fetchall()
    assert stored == [("day5.parquet", "evt-00000006"), ("day?.parquet", "evt-00000005"),
                      ("events1.csv", "evt-00000002"), ("events[1].csv", "evt-00000001"),
                      ("hour*.jsonl", "evt-00000003"), ("hour-2.jsonl", "evt-00000004")]
    _assert_same_tables(batched_db, one_by_one_db)


def _count_reads(monkeypatch) -> list[tuple[str, str]]:
    """Record each read statement ingestion issues: (reader, the name of the file it reads)."""
    from warehouse.ingest import batch

    reads: list[tuple[str, str]] = []
    read_and_check = batch._read_and_check

    def counted(con, reader, member, check_params):
        reads.append((reader, member[1].file_name))
        return read_and_check(con, reader, member, check_params)

    monkeypatch.setattr(batch, "_read_and_check", counted)
    return reads


def _append_line(path: Path, line: str, *, at: int) -> None:
    """Put `line` at line number `at` (1-based) of a text file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    lines.insert(at - 1, line)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_one_bad_row_among_100000_costs_only_that_row(tmp_path, monkeypatch):
    # given a CSV and a JSON-lines file of 100,000 events each, each with one bad row inside
    inbox = tmp_path / "inbox"
    write_generated_events(inbox / "a.csv", 0, 100_000)
    write_generated_events(inbox / "b.jsonl", 100_000, 100_000)
    bad = good_event(1, event_type="purchase")
    _append_line(inbox / "a.csv", ",".join(str(bad[name]) for name in (
        (inbox / "a.csv").read_text().splitlines()[0].split(","))), at=50_001)
    _append_line(inbox / "b.jsonl", json.dumps(bad), at=70_000)
    reads = _count_reads(monkeypatch)
    # when the inbox is ingested
    report = ingest_inbox(tmp_path / "warehouse.duckdb", inbox)
    # then each file was read once, in the batch's one pass
    assert sorted(reads) == [("csv", "a.csv"), ("jsonl", "b.jsonl")]
    # and every good row loaded, the bad ones quarantined with their line numbers
    assert [result.rows_loaded for result in report.files] == [100_000, 100_000]
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select file_name, source_row_number, reason from raw.quarantine_rows "
                           "order by file_name").fetchall() == [
            ("a.csv", 50_001, "bad_event_type"), ("b.jsonl", 70_000, "bad_event_type")]


def test_a_fault_in_one_file_stops_the_files_being_read_and_those_not_yet(tmp_path,
                                                                        monkeypatch):
    # given six files read two at a time: a fault of ours in the statement of the first, and a
    # statement that would run for a long time on the second
    from warehouse import db
    from warehouse.ingest import batch

    monkeypatch.setattr(db, "task_threads", lambda: 2)
    inbox = tmp_path / "inbox"
    for index in range(6):
        write_csv(inbox / f"events-{index}.csv", [good_event(index)])
    started: list[str] = []
    interrupted: list[str] = []
    read_and_check = batch._read_and_check

    def faulty(con, reader, member, check_params):
        name = member[1].file_name
        started.append(name)
        if name == "events-0.csv":
            time.sleep(0.3)
            raise RuntimeError("a fault of ours")
        if name == "events-1.csv":
            try:
                con.execute("select sum(hash(i)) from range(20000000000) as r(i)").fetchall()
            except duckdb.InterruptException:
                interrupted.append(name)
                raise
        return read_and_check(con, reader, member, check_params)

    monkeypatch.setattr(batch, "_read_and_check", faulty)
    # when the inbox is ingested
    with pytest.raises(RuntimeError, match="a fault of ours"):
        ingest_inbox(tmp_path / "warehouse.duckdb", inbox)
    # then the long statement was stopped, the files not started by then never were (the first
    # file's worker may have taken the third before the fault reached the batch), and nothing
    # was stored
    assert interrupted == ["events-1.csv"]
    assert {"events-0.csv", "events-1.csv"} <= set(started) and len(started) <= 3
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from raw.events").fetchone() == (0,)
        assert con.execute("select count(*) from raw.ingest_files").fetchone() == (0,)


def test_a_batch_where_every_file_has_bad_rows_reads_each_file_once(tmp_path, monkeypatch):
    # given files of every format, each with bad rows of several kinds among good ones
    inbox = tmp_path / "inbox"
    for index, (suffix, writer) in enumerate(sorted(WRITERS.items())):
        rows = [good_event(n) for n in range(index * 100, index * 100 + 60)]
        rows[5] = good_event(index * 100 + 5, event_type="purchase")
        rows[17] = good_event(index * 100 + 17, campaign_id=PII_EMAIL)
        rows[40] = good_event(index * 100 + 40, occurred_at="yesterday")
        writer(inbox / f"events-{index}{suffix}", rows)
    reads = _count_reads(monkeypatch)
    # when both ways load them
    (batched, one_by_one), (batched_db, one_by_one_db) = _load_both_ways(inbox, tmp_path)
    # then the batch read each file once (its reads come first, in any order: files are read
    # side by side), and quarantined only the bad rows
    assert sorted(reads[:3]) == sorted((format_of(path), path.name) for path in inbox.iterdir())
    assert [result.quarantined_by_reason for result in batched.files] == [
        {"bad_event_type": 1, "bad_occurred_at": 1, "pii_email": 1}] * 3
    assert [result.rows_loaded for result in batched.files] == [57] * 3
    # exactly as the files loaded one by one, line by line
    assert [(r.rows_loaded, r.quarantined_by_reason) for r in one_by_one.files] == [
        (r.rows_loaded, r.quarantined_by_reason) for r in batched.files]
    _assert_same_tables(batched_db, one_by_one_db)
