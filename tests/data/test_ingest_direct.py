"""The direct load (read once, written once) must store exactly what the line-checked path
stores, and must hand every file it cannot prove clean to the line-checked path."""

from __future__ import annotations

import shutil
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
from warehouse.ingest.loading import ingest_inbox
from warehouse.optout import apply_optouts
from warehouse.sql_files import suffixed_parameters, union_of

# Every stored column that does not record when or how long.
COMPARED = {
    "raw.events": "*",
    "raw.quarantine_rows": "* exclude (quarantined_at)",
    "raw.ingest_files": "* exclude (seconds, ingested_at)",
}
WRITERS = {".csv": write_csv, ".jsonl": write_jsonl, ".parquet": write_parquet}


def _load_both_ways(inbox: Path, tmp_path: Path, *, before=None):
    """Ingest `inbox` into two fresh warehouses, one allowing the direct load and one not;
    `before(warehouse)` runs on each first. Returns the two reports and warehouse paths."""
    reports, warehouses = [], []
    for direct_load in (True, False):
        warehouse = tmp_path / f"direct-{direct_load}.duckdb"
        if before is not None:
            before(warehouse)
        reports.append(ingest_inbox(warehouse, inbox, direct_load=direct_load))
        warehouses.append(warehouse)
    return reports, warehouses


def _assert_same_tables(direct: Path, line_checked: Path) -> None:
    with duckdb.connect(str(direct), read_only=True) as con:
        con.execute(f"attach '{line_checked}' as other (read_only)")
        for table, columns in COMPARED.items():
            for left, right in ((table, f"other.{table}"), (f"other.{table}", table)):
                differing = con.execute(
                    f"select count(*) from (select {columns} from {left} "
                    f"except all select {columns} from {right})").fetchone()[0]
                assert differing == 0, f"{table} differs between the two paths"


def _paths(report) -> dict[str, str | None]:
    return {result.file_name: result.load_path for result in report.files}


def test_clean_files_of_every_format_load_directly_and_equal_line_checked(tmp_path):
    # given clean files in all formats, ids repeated inside a file and across files
    inbox = tmp_path / "inbox"
    write_generated_events(inbox / "a.csv", 0, 3000)
    write_generated_events(inbox / "b.csv.gz", 2500, 3000)
    write_generated_events(inbox / "c.jsonl", 5000, 3000)
    write_generated_events(inbox / "d.jsonl.gz", 7000, 2000)
    write_generated_events(inbox / "e.parquet", 8500, 3000)
    # when both paths load them
    (direct, line_checked), (direct_db, line_checked_db) = _load_both_ways(inbox, tmp_path)
    # then every file took the direct path, and the stored tables are the same
    assert set(_paths(direct).values()) == {"direct"}
    assert set(_paths(line_checked).values()) == {"line_checked"}
    assert direct.duplicates_skipped == line_checked.duplicates_skipped > 500
    assert direct.rows_loaded == line_checked.rows_loaded
    _assert_same_tables(direct_db, line_checked_db)


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

    # when both paths load the inbox
    (direct, line_checked), (direct_db, line_checked_db) = _load_both_ways(
        inbox, tmp_path, before=opt_out)
    # then both drop and count the same rows
    assert set(_paths(direct).values()) == {"direct"}
    assert direct.suppressed_dropped == line_checked.suppressed_dropped > 0
    assert direct.duplicates_skipped == line_checked.duplicates_skipped
    _assert_same_tables(direct_db, line_checked_db)


# Rows the direct load may not take as they are: each sends its file to the line-checked path.
NEEDS_LINE_CHECK = {
    "leading_blank": {"campaign_id": " spring-2026"},
    "trailing_blank": {"municipality": "Luleå "},
    "bad_row": {"event_type": "purchase"},
    "pii_in_free_text": {"campaign_id": PII_EMAIL},
    "phone_like_watch_seconds": {"watch_seconds": "01234.56"},
    "future": {"occurred_at": "2999-01-01T00:00:00Z"},
    "pii_in_unknown_column": {"contact": PII_EMAIL},
}


@pytest.mark.parametrize("suffix", sorted(WRITERS))
@pytest.mark.parametrize("case", sorted(NEEDS_LINE_CHECK))
def test_a_file_the_direct_load_cannot_prove_clean_is_line_checked(tmp_path, suffix, case):
    # given a file of good rows with one row the direct load must not take as it is
    inbox = tmp_path / "inbox"
    rows = [good_event(n) for n in range(1, 6)]
    rows[2] = good_event(3, **NEEDS_LINE_CHECK[case])
    WRITERS[suffix](inbox / f"events{suffix}", rows)
    # when both paths load it
    (direct, _), (direct_db, line_checked_db) = _load_both_ways(inbox, tmp_path)
    # then the file fell back to the line-checked path, with the same outcome
    assert _paths(direct) == {f"events{suffix}": "line_checked"}
    _assert_same_tables(direct_db, line_checked_db)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_unknown_columns_are_counted_alike(tmp_path, suffix):
    # given good rows, one with a column the contract does not name
    inbox = tmp_path / "inbox"
    rows = [good_event(n) for n in range(1, 6)]
    rows[2] = good_event(3, referrer="newsletter")
    WRITERS[suffix](inbox / f"events{suffix}", rows)
    # when both paths load it
    (direct, line_checked), (direct_db, line_checked_db) = _load_both_ways(inbox, tmp_path)
    # then the file is line-checked (which checks the unknown column's values too) and the
    # manifest lists the column
    assert _paths(direct) == {f"events{suffix}": "line_checked"}
    assert direct.files[0].unknown_columns == line_checked.files[0].unknown_columns == (
        "referrer",)
    _assert_same_tables(direct_db, line_checked_db)


def test_layouts_the_direct_load_leaves_to_the_line_checked_path(tmp_path):
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
    # a line longer than the direct reader's buffer
    write_csv(inbox / "long.csv", [*rows, good_event(9, campaign_id="x" * 3_000_000)])
    (direct, _), (direct_db, line_checked_db) = _load_both_ways(inbox, tmp_path)
    assert set(_paths(direct).values()) == {"line_checked"}
    _assert_same_tables(direct_db, line_checked_db)


@pytest.mark.slow
@pytest.mark.parametrize("faults", [True, False])
def test_a_simulated_world_loads_the_same_both_ways(tmp_path, faults):
    # given a small simulated world, with every planted fault or none
    world = tmp_path / "world"
    simulate_world(world, WorldSettings(persons=600, days=21, seed=11, faults=faults))
    inbox = tmp_path / "inbox"
    shutil.copytree(world / "inbox", inbox)
    # when both paths load it
    (direct, line_checked), (direct_db, line_checked_db) = _load_both_ways(inbox, tmp_path)
    # then the outcome is the same; without faults every file took the direct path
    if not faults:
        assert set(_paths(direct).values()) == {"direct"}
    assert direct.quarantined_by_reason == line_checked.quarantined_by_reason
    assert direct.duplicates_skipped == line_checked.duplicates_skipped
    _assert_same_tables(direct_db, line_checked_db)

def test_json_values_of_every_type_are_read_as_the_line_checked_path_reads_them(tmp_path):
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
    # when both paths load it
    (direct, _), (direct_db, line_checked_db) = _load_both_ways(inbox, tmp_path)
    # then it loaded directly, every row, with the same stored values
    assert _paths(direct) == {"forms.jsonl": "direct"}
    assert direct.rows_loaded == 3
    _assert_same_tables(direct_db, line_checked_db)


def test_a_bad_file_in_a_batch_sends_only_itself_to_the_line_checked_path(tmp_path):
    # given clean files around one with a bad row, all sharing some event ids
    inbox = tmp_path / "inbox"
    write_generated_events(inbox / "a.csv", 0, 2000)
    write_jsonl(inbox / "b.jsonl", [good_event(n) for n in range(1, 4)]
                + [good_event(4, event_type="purchase")])
    write_generated_events(inbox / "c.parquet", 1500, 2000)
    write_generated_events(inbox / "d.jsonl.gz", 3000, 1000)
    # when both paths load them
    (direct, line_checked), (direct_db, line_checked_db) = _load_both_ways(inbox, tmp_path)
    # then the batch was loaded file by file: the bad file line-checked, the others directly
    assert _paths(direct) == {"a.csv": "direct", "b.jsonl": "line_checked",
                              "c.parquet": "direct", "d.jsonl.gz": "direct"}
    assert direct.duplicates_skipped == line_checked.duplicates_skipped > 0
    _assert_same_tables(direct_db, line_checked_db)


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

    # when both paths load them
    (direct, line_checked), (direct_db, line_checked_db) = _load_both_ways(
        inbox, tmp_path, before=opt_out)
    # then the outcome is the one of loading the files one by one, in name order
    assert _paths(direct) == {"a.csv": "direct", "b.csv": "direct", "c.jsonl": "direct",
                              "d.parquet": "direct", "e-copy-of-a.csv": None}
    assert [r.status for r in direct.files] == [r.status for r in line_checked.files]
    assert direct.files[-1].status == "already_loaded"
    assert [(r.rows_loaded, r.duplicates_skipped, r.suppressed_dropped) for r in direct.files] \
        == [(r.rows_loaded, r.duplicates_skipped, r.suppressed_dropped)
            for r in line_checked.files]
    assert direct.files[1].duplicates_skipped == 2  # events 4 and 5, first stored from a.csv
    assert direct.files[3].duplicates_skipped == 0  # event 20's first copy was not stored
    _assert_same_tables(direct_db, line_checked_db)


def test_batches_split_by_size_store_the_same(tmp_path, monkeypatch):
    # given overlapping clean files and batches of at most two files
    inbox = tmp_path / "inbox"
    for index, first in enumerate((0, 800, 1600, 2400, 3200)):
        write_generated_events(inbox / f"{index}.csv", first, 1000)
    monkeypatch.setattr("warehouse.ingest.loading._BATCH_MAX_FILES", 2)
    # when both paths load them
    (direct, line_checked), (direct_db, line_checked_db) = _load_both_ways(inbox, tmp_path)
    # then every file loaded directly, with the same outcome
    assert set(_paths(direct).values()) == {"direct"}
    assert direct.duplicates_skipped == line_checked.duplicates_skipped == 4 * 200
    _assert_same_tables(direct_db, line_checked_db)


def test_union_of_binds_each_copy_of_a_query_to_its_own_values():
    # given one query with named parameters, used twice in one statement
    query = "select $name as name, n from range($count) as r(n) -- $name in a comment"
    # when each copy is bound to its own values
    rows = duckdb.connect().execute(
        f"select name, count(*) from ({union_of([query, query])}) group by name order by name",
        suffixed_parameters({"name": "first", "count": 2}, 1)
        | suffixed_parameters({"name": "second", "count": 3}, 2)).fetchall()
    # then each copy read its own
    assert rows == [("first", 2), ("second", 3)]


def test_file_names_with_glob_characters_name_only_their_own_file(tmp_path):
    # given files whose names DuckDB would read as globs, next to files those globs would match
    inbox = tmp_path / "inbox"
    write_csv(inbox / "events[1].csv", [good_event(1)])
    write_csv(inbox / "events1.csv", [good_event(2)])
    write_jsonl(inbox / "hour*.jsonl", [good_event(3)])
    write_jsonl(inbox / "hour-2.jsonl", [good_event(4)])
    write_parquet(inbox / "day?.parquet", [good_event(5)])
    write_parquet(inbox / "day5.parquet", [good_event(6)])
    # when both paths load them
    (direct, line_checked), (direct_db, line_checked_db) = _load_both_ways(inbox, tmp_path)
    # then every file loaded its own single row, directly
    assert set(_paths(direct).values()) == {"direct"}
    assert [result.rows_loaded for result in direct.files] == [1] * 6
    assert [result.rows_loaded for result in line_checked.files] == [1] * 6
    with duckdb.connect(str(direct_db), read_only=True) as con:
        stored = con.execute(
            "select files.file_name, events.event_id from raw.events as events "
            "join raw.ingest_files as files using (file_sha256) order by files.file_name"
        ).fetchall()
    assert stored == [("day5.parquet", "evt-00000006"), ("day?.parquet", "evt-00000005"),
                      ("events1.csv", "evt-00000002"), ("events[1].csv", "evt-00000001"),
                      ("hour*.jsonl", "evt-00000003"), ("hour-2.jsonl", "evt-00000004")]
    _assert_same_tables(direct_db, line_checked_db)
