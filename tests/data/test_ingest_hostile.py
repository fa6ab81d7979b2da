"""Issue 16's hostile and careless input at load: one bad value stays one bad row in every
format and both load paths, timestamps are read one way per value, a file whose content is not
what its name says is refused whole (and loads later under the right name), and a MAID is stored
in one canonical form."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.event_files import good_event, write_csv, write_jsonl, write_parquet
from warehouse.ingest.loading import ingest_inbox
from warehouse.optout import apply_optouts
from warehouse.settings import IngestSettings
from warehouse.sql_files import read_sql
from warehouse.status import warehouse_status

WRITERS = {".jsonl": write_jsonl, ".csv": write_csv, ".csv.gz": write_csv,
           ".parquet": write_parquet}
# Where the second row of a file is: CSV counts its header line, Parquet counts rows.
SECOND_ROW_NUMBER = {".jsonl": 2, ".csv": 3, ".csv.gz": 3, ".parquet": 2}
MAID = "fb46f81c-1000-448a-bd06-be27838dce0e"


def _query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute("set timezone = 'UTC'")
        return con.execute(sql, params or []).fetchall()


def _quarantined(warehouse: Path) -> list[tuple]:
    return _query(warehouse, "select source_row_number, reason, field, event_id "
                             "from raw.quarantine_rows order by source_row_number")


def _stored_ids(warehouse: Path) -> list[str]:
    return [event_id for (event_id,) in _query(
        warehouse, "select event_id from raw.events order by event_id")]


def _ingest_both_ways(inbox: Path, tmp_path: Path, **options) -> list[tuple[object, Path]]:
    """The inbox loaded into two fresh warehouses: batched, and one file at a time with JSON
    lines read line by line."""
    loads = []
    for batch_max_files in (64, 1):
        warehouse = tmp_path / f"batch-{batch_max_files}.duckdb"
        loads.append((ingest_inbox(warehouse, inbox, batch_max_files=batch_max_files,
                                   json_line_by_line=batch_max_files == 1, **options),
                      warehouse))
    return loads


def _one_bad_occurred_at(tmp_path: Path, suffix: str, bad_value: object, *,
                         good_value=None, **options) -> list[tuple[object, Path]]:
    """Three events, the second with occurred_at `bad_value`, in one file of `suffix`,
    loaded both ways."""
    overrides = {} if good_value is None else {"occurred_at": good_value}
    rows = [good_event(1, **overrides), good_event(2, occurred_at=bad_value),
            good_event(3, **overrides)]
    WRITERS[suffix](tmp_path / "inbox" / f"events{suffix}", rows)
    return _ingest_both_ways(tmp_path / "inbox", tmp_path, **options)


def _assert_only_second_row_quarantined(loads, suffix: str, reason: str) -> None:
    for report, warehouse in loads:
        assert [result.status for result in report.files] == ["loaded"], (
            "one bad value must not refuse its file")
        assert _quarantined(warehouse) == [
            (SECOND_ROW_NUMBER[suffix], reason, "occurred_at", "evt-00000002")]
        assert _stored_ids(warehouse) == ["evt-00000001", "evt-00000003"], "the rest loads"


# --- break 1: an out-of-range value quarantines its row, not its file ----------------------

@pytest.mark.parametrize("suffix", sorted(WRITERS))
@pytest.mark.parametrize("bad_value", [9999999999999999, -9999999999999999,
                                       "9999999999999999", "-9999999999999999"])
def test_out_of_range_epoch_quarantines_its_row_and_the_rest_loads(tmp_path, suffix, bad_value):
    # given a file whose second event's occurred_at is an epoch beyond any timestamp
    # (a JSON number or string; CSV text; in Parquet a text column, the others being ISO text)
    # when it is loaded both ways
    loads = _one_bad_occurred_at(tmp_path, suffix, bad_value)
    # then only that row is quarantined, with its line, and the others are stored
    _assert_only_second_row_quarantined(loads, suffix, "bad_occurred_at")


@pytest.mark.parametrize("bad_value", [9999999999999999, -9999999999999999])
def test_out_of_range_epoch_in_a_parquet_int64_column_quarantines_its_row(tmp_path, bad_value):
    # given a Parquet file whose occurred_at column is int64 epoch milliseconds, one too large
    # when it is loaded both ways
    loads = _one_bad_occurred_at(tmp_path, ".parquet", bad_value, good_value=1772366400000)
    schema = pq.read_schema(tmp_path / "inbox" / "events.parquet")
    assert schema.field("occurred_at").type == pa.int64(), "the column must be typed int64"
    # then only that row is quarantined
    _assert_only_second_row_quarantined(loads, ".parquet", "bad_occurred_at")


def test_out_of_range_requested_at_rejects_only_its_opt_out_row(home, tmp_path):
    # given events of three persons, and an opt-out file naming them, the second with
    # requested_at=9999999999999999
    events = [good_event(1, person_id="cookie-000001"), good_event(2, person_id="cookie-000002"),
              good_event(3, person_id="cookie-000003")]
    write_jsonl(tmp_path / "inbox" / "events.jsonl", events)
    ingest_inbox(home.warehouse_path, tmp_path / "inbox")
    optouts = tmp_path / "optouts.csv"
    optouts.write_text("person_id,requested_at\n"
                       "cookie-000001,2026-03-02T10:00:00Z\n"
                       "cookie-000002,9999999999999999\n"
                       "cookie-000003,1772445600000\n")
    # when it is applied
    report = apply_optouts(home.warehouse_path, optouts)
    # then that row alone is rejected, and the other two erasures are applied
    assert report.rejected == [(2, "bad_requested_at")]
    assert report.erasures == 2
    assert _query(home.warehouse_path, "select person_id from raw.events") == [
        ("cookie-000002",)]


# --- break 11: timestamps ------------------------------------------------------------------

REJECTED_TIMESTAMPS = {
    "minus_infinity": "-infinity",
    "infinity": "infinity",
    "epoch": "epoch",
    "offset_beyond_18h": "2026-10-20T12:00:00+25:00",
    "no_offset": "2026-10-20T12:00:00",
    "named_zone": "2026-10-20 12:00:00 Europe/Stockholm",
    # epoch seconds, read as milliseconds: 1970-01-21, before any plausible campaign
    "epoch_seconds": "1760961600",
}


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
@pytest.mark.parametrize("case", sorted(REJECTED_TIMESTAMPS))
def test_timestamps_without_a_plausible_instant_are_bad_occurred_at(tmp_path, suffix, case):
    # given a file whose second event has this occurred_at
    # when it is loaded both ways
    loads = _one_bad_occurred_at(tmp_path, suffix, REJECTED_TIMESTAMPS[case])
    # then that row is quarantined as bad_occurred_at and the others load
    _assert_only_second_row_quarantined(loads, suffix, "bad_occurred_at")


def test_status_first_event_at_is_not_year_one_after_minus_infinity(home, tmp_path):
    # given a file with -infinity among good events
    write_jsonl(tmp_path / "inbox" / "events.jsonl",
                [good_event(1), good_event(2, occurred_at="-infinity")])
    # when it is loaded
    ingest_inbox(home.warehouse_path, tmp_path / "inbox")
    # then the stored range is the good event's
    assert warehouse_status(home.warehouse_path)["first_event_at"] == "2026-03-01T12:01:00Z"


ACCEPTED_TIMESTAMPS = {
    "basic_format": ("20261020T120000Z", datetime(2026, 10, 20, 12, 0)),
    "basic_format_with_offset": ("20261020T140000+0200", datetime(2026, 10, 20, 12, 0)),
    # a leap second is read as the last microsecond of its minute (docs/status.md)
    "leap_second": ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59, 999999)),
    "offset_of_18h": ("2026-10-20T12:00:00-18:00", datetime(2026, 10, 21, 6, 0)),
    "epoch_milliseconds": ("1760961600000", datetime(2025, 10, 20, 12, 0)),
    "extended_with_fraction": ("2026-10-20T14:00:00.25+02:00",
                               datetime(2026, 10, 20, 12, 0, 0, 250000)),
}


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
@pytest.mark.parametrize("case", sorted(ACCEPTED_TIMESTAMPS))
def test_valid_iso_8601_and_epoch_milliseconds_load_in_utc(tmp_path, suffix, case):
    # given a file of one event with this occurred_at (the earliest plausible time moved back
    # to 2010, so the 2016 leap second is judged on its form alone)
    text, expected = ACCEPTED_TIMESTAMPS[case]
    WRITERS[suffix](tmp_path / "inbox" / f"events{suffix}", [good_event(1, occurred_at=text)])
    # when it is loaded both ways
    loads = _ingest_both_ways(tmp_path / "inbox", tmp_path,
                              earliest_occurred_at=datetime(2010, 1, 1, tzinfo=UTC))
    # then it is stored at that instant in UTC
    for report, warehouse in loads:
        assert report.rows_quarantined == 0, report.quarantined_by_reason
        assert _query(warehouse, "select occurred_at from raw.events") == [(expected,)]


@pytest.mark.parametrize(("arrow_type", "stored"), [
    (pa.timestamp("us", tz="UTC"), [datetime(2026, 10, 20, 12, 0)]),
    # a local (naive) Parquet timestamp names no offset, like "2026-10-20T12:00:00"
    (pa.timestamp("us"), []),
])
def test_a_parquet_timestamp_column_loads_only_when_it_is_utc_adjusted(tmp_path, arrow_type,
                                                                        stored):
    # given a Parquet file whose occurred_at column is a typed timestamp
    row = good_event(1)
    columns = {name: [value] for name, value in row.items()}
    columns["occurred_at"] = pa.array([datetime(2026, 10, 20, 12, 0)], arrow_type)
    (tmp_path / "inbox").mkdir()
    pq.write_table(pa.table(columns), tmp_path / "inbox" / "events.parquet")
    # when it is loaded both ways
    loads = _ingest_both_ways(tmp_path / "inbox", tmp_path)
    # then a UTC-adjusted one is stored at its instant, a local one is bad_occurred_at
    for report, warehouse in loads:
        assert _query(warehouse, "select occurred_at from raw.events") == [
            (value,) for value in stored]
        assert report.quarantined_by_reason == ({} if stored else {"bad_occurred_at": 1})


def test_a_named_zone_does_not_change_how_later_values_are_read():
    # given a vector of values, one of them with a named zone (DuckDB's cast then read the
    # offset-less values after it in that zone: 12:00 before it, 10:00 after)
    values = ["2026-10-20T12:00:00", "2026-10-20 12:00:00 Europe/Stockholm",
              "2026-10-20T12:00:00", "2026-10-20T12:00:00Z", "2026-10-20T14:00:00+02:00"]
    with duckdb.connect() as con:
        con.execute("set timezone = 'UTC'")
        con.execute(read_sql("queries/contract_macros.sql"))
        # when they are parsed together, in file order, and each on its own
        together = [value for (_, value) in con.execute(
            "select position, norrut_occurred_at(text) from unnest(?) with ordinality as "
            "t(text, position) order by position", [values]).fetchall()]
        alone = [con.execute("select norrut_occurred_at(?)", [text]).fetchone()[0]
                 for text in values]
    # then each value gives one answer wherever it stands: offset-less and named-zone values
    # none (bad_occurred_at), the others their instant
    noon = datetime(2026, 10, 20, 12, 0)
    assert together == alone == [None, None, None, noon, noon]


@pytest.mark.parametrize("session_zone", ["UTC", "Europe/Stockholm", "America/St_Johns"])
def test_an_event_time_is_its_utc_instant_whatever_the_session_time_zone(session_zone):
    # given a connection whose session is set to a time zone (a reader's cursor, say), and event
    # times in each form the contract allows, one of them across a daylight-saving change
    values = ["2026-10-25T00:30:00Z", "2026-10-25T03:30:00+02:00", "1792891800000",
              "20261025T013000Z", "2026-10-25T01:30:00.250-00:00"]
    with duckdb.connect() as con:
        con.execute(f"set timezone = '{session_zone}'")
        con.execute(read_sql("queries/contract_macros.sql"))
        # when they are parsed
        parsed = [con.execute("select norrut_occurred_at(?)", [text]).fetchone()[0]
                  for text in values]
    # then each is the instant in UTC, not the session's wall clock
    assert parsed == [datetime(2026, 10, 25, 0, 30), datetime(2026, 10, 25, 1, 30),
                      datetime(2026, 10, 25, 1, 30), datetime(2026, 10, 25, 1, 30),
                      datetime(2026, 10, 25, 1, 30, 0, 250000)]


def test_events_before_the_earliest_plausible_time_are_bad_occurred_at(tmp_path):
    # given events on 2026-03-01, and an earliest plausible time after the first of them
    rows = [good_event(1), good_event(2, occurred_at="2026-03-01T11:59:59Z"), good_event(3)]
    write_csv(tmp_path / "inbox" / "events.csv", rows)
    # when loaded both ways with that setting
    loads = _ingest_both_ways(tmp_path / "inbox", tmp_path,
                              earliest_occurred_at=datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    # then the event before it is quarantined and the others load
    _assert_only_second_row_quarantined(loads, ".csv", "bad_occurred_at")


def test_the_earliest_plausible_time_is_an_ingest_setting():
    # given the ingest flow's settings as a deployment passes them (ISO text)
    default = IngestSettings()
    moved = IngestSettings(earliest_occurred_at="2024-06-01T00:00:00+02:00")
    # then the default is 2020-01-01 UTC and a given time keeps its instant
    assert default.earliest_occurred_at == datetime(2020, 1, 1, tzinfo=UTC)
    assert moved.earliest_occurred_at == datetime(2024, 5, 31, 22, 0, tzinfo=UTC)


# --- break 12: a byte that is not UTF-8 ------------------------------------------------------

@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_one_latin1_byte_quarantines_only_its_csv_row(tmp_path, suffix):
    # given a CSV whose second row has "Luleå" written in Latin-1 (one byte 0xE5)
    path = write_csv(tmp_path / "inbox" / f"events{suffix}",
                     [good_event(1), good_event(2), good_event(3)])
    text = gzip.decompress(path.read_bytes()) if suffix.endswith(".gz") else path.read_bytes()
    lines = text.split(b"\n")
    lines[2] = lines[2].replace("Luleå".encode(), "Luleå".encode("latin-1"))
    data = b"\n".join(lines)
    path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
    # when it is loaded both ways
    loads = _ingest_both_ways(tmp_path / "inbox", tmp_path)
    # then that row alone is quarantined as malformed, at its line, and the others load
    for report, warehouse in loads:
        assert [result.status for result in report.files] == ["loaded"]
        assert _quarantined(warehouse) == [(3, "malformed_row", None, None)]
        assert _stored_ids(warehouse) == ["evt-00000001", "evt-00000003"]


# --- break 7 and the separator note: content that is not what the name says ---------------

def _jsonl_named_csv(inbox: Path) -> Path:
    return write_jsonl(inbox / "events.csv", [good_event(n) for n in range(1, 4)])


def _csv_named_jsonl(inbox: Path) -> Path:
    return write_csv(inbox / "events.jsonl", [good_event(n) for n in range(1, 4)])


def _parquet_named_csv(inbox: Path) -> Path:
    return write_parquet(inbox / "events.csv", [good_event(n) for n in range(1, 4)])


def _jsonl_named_parquet(inbox: Path) -> Path:
    return write_jsonl(inbox / "events.parquet", [good_event(n) for n in range(1, 4)])


MISNAMED = {
    "jsonl_named_csv": (_jsonl_named_csv, "events.jsonl"),
    "csv_named_jsonl": (_csv_named_jsonl, "events.csv"),
    "parquet_named_csv": (_parquet_named_csv, "events.parquet"),
    "jsonl_named_parquet": (_jsonl_named_parquet, "events.ndjson"),
}


@pytest.mark.parametrize("batch_max_files", [64, 1])
@pytest.mark.parametrize("case", sorted(MISNAMED))
def test_content_not_matching_its_extension_is_refused_then_loads_under_the_right_name(
        home, tmp_path, case, batch_max_files):
    # given three events whose content is of another format than the file's name says
    write, right_name = MISNAMED[case]
    inbox = tmp_path / "inbox"
    misnamed = write(inbox)
    # when loaded, then renamed to the right extension and loaded again
    first = ingest_inbox(home.warehouse_path, inbox, batch_max_files=batch_max_files)
    quarantined_then = warehouse_status(home.warehouse_path)["files_quarantined_by_reason"]
    misnamed.rename(inbox / right_name)
    second = ingest_inbox(home.warehouse_path, inbox, batch_max_files=batch_max_files)
    # then the misnamed file is refused whole with its reason and not recorded as loaded, and
    # the same content loads in full under the right name
    assert [(r.status, r.failure_reason, r.rows_read) for r in first.files] == [
        ("quarantined", "content_does_not_match_extension", 0)]
    assert quarantined_then == {"content_does_not_match_extension": 1}
    assert [(r.status, r.rows_loaded) for r in second.files] == [("loaded", 3)]
    assert _stored_ids(home.warehouse_path) == ["evt-00000001", "evt-00000002", "evt-00000003"]
    state = warehouse_status(home.warehouse_path)
    assert (state["files_loaded"], state["files_quarantined"]) == (1, 0)


def test_a_csv_whose_rows_the_reader_swallows_is_unreadable_not_loaded_empty(home, tmp_path):
    # given a CSV whose header ends in an unterminated quote: DuckDB's reader then takes every
    # row into that field, yielding no row and no reject
    path = write_csv(tmp_path / "inbox" / "events.csv", [good_event(n) for n in range(1, 4)])
    header, *rows = path.read_text().splitlines()
    path.write_text("\n".join([header + ',"note', *(row + ",z" for row in rows)]) + "\n")
    # when it is loaded
    report = ingest_inbox(home.warehouse_path, tmp_path / "inbox")
    # then the file is refused whole, not recorded as loaded with no rows and nothing
    # quarantined (its rows would be lost without a trace)
    assert [(r.status, r.failure_reason) for r in report.files] == [
        ("quarantined", "unreadable_file")]


@pytest.mark.parametrize("separator", [";", "\t"])
def test_a_csv_with_another_separator_is_refused_whole_as_wrong_separator(
        home, tmp_path, separator):
    # given a CSV whose header and rows are split by ';' (or a tab) instead of ','
    path = write_csv(tmp_path / "inbox" / "events.csv", [good_event(n) for n in range(1, 4)])
    path.write_text(path.read_text().replace(",", separator))
    # when it is loaded
    report = ingest_inbox(home.warehouse_path, tmp_path / "inbox")
    # then the whole file is quarantined as wrong_separator, no row as missing_event_id
    assert [(r.status, r.failure_reason) for r in report.files] == [
        ("quarantined", "wrong_separator")]
    state = warehouse_status(home.warehouse_path)
    assert state["files_quarantined_by_reason"] == {"wrong_separator": 1}
    assert state["rows_quarantined"] == {}


# --- break 2, ingest side: one canonical form of a MAID ---------------------------------------

def _maid_event(number: int, person_id: str) -> dict[str, object]:
    return good_event(number, person_id=person_id, id_type="maid")


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_an_upper_case_maid_is_stored_lower_case(tmp_path, suffix):
    # given events of one MAID written in upper case and in lower case
    WRITERS[suffix](tmp_path / "inbox" / f"events{suffix}",
                    [_maid_event(1, MAID.upper()), _maid_event(2, MAID)])
    # when loaded both ways
    loads = _ingest_both_ways(tmp_path / "inbox", tmp_path)
    # then both events are stored under the one lower-case id
    for _, warehouse in loads:
        assert _query(warehouse, "select distinct person_id from raw.events") == [(MAID,)]


@pytest.mark.parametrize("opted_out_as", [MAID, MAID.upper()])
@pytest.mark.parametrize("batch_max_files", [64, 1])
def test_an_opted_out_maid_is_dropped_at_load_in_any_case(home, tmp_path, opted_out_as,
                                                            batch_max_files):
    # given an opt-out of the MAID (in either case) applied before any event of it arrives
    optouts = tmp_path / "optouts.csv"
    optouts.write_text(f"person_id,requested_at\n{opted_out_as},2026-03-01T00:00:00Z\n")
    apply_optouts(home.warehouse_path, optouts)
    # when events of that MAID arrive in the other case, and in its own, with another person's
    write_jsonl(tmp_path / "inbox" / "events.jsonl",
                [_maid_event(1, MAID.upper()), _maid_event(2, MAID), good_event(3)])
    report = ingest_inbox(home.warehouse_path, tmp_path / "inbox", batch_max_files=batch_max_files)
    # then both of the MAID's events are dropped and counted, and the other event loads
    assert (report.suppressed_dropped, report.rows_loaded) == (2, 1)
    assert _stored_ids(home.warehouse_path) == ["evt-00000003"]
