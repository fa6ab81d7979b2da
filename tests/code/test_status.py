"""`norrut status` reports what the warehouse holds; the CLI gives one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from norrut.cli.app import build_app
from tests.event_files import bad_event, good_event, write_csv, write_jsonl
from warehouse.status import warehouse_status

NORRUT = str(Path(sys.executable).with_name("norrut"))
REQUIRED_KEYS = {"events", "persons", "files_loaded", "files_quarantined", "rows_quarantined",
                 "duplicates_skipped", "persons_suppressed", "first_event_at", "last_event_at",
                 "schema_version"}


def test_status_counts_a_small_inbox(home, tmp_path):
    # given an inbox with a duplicate, a bad row, an unknown column and an unreadable file
    write_jsonl(tmp_path / "inbox" / "a.jsonl",
                [good_event(1, occurred_at="2026-03-01T08:00:00+01:00"), good_event(2, extra=1),
                 good_event(1), bad_event(3, "bad_device")])
    write_csv(tmp_path / "inbox" / "b.csv", [good_event(2), good_event(9)])
    (tmp_path / "inbox" / "c.csv.gz").write_bytes(b"not gzip")

    # when ingested through the CLI and the status read as JSON
    runner = CliRunner()
    ingested = runner.invoke(build_app(), ["ingest", str(tmp_path / "inbox")])
    shown = runner.invoke(build_app(), ["status", "--json"])
    table = runner.invoke(build_app(), ["status"])

    # then the JSON has every documented key with the right counts
    assert ingested.exit_code == 0, ingested.output
    assert "rows/s" in ingested.output
    assert table.exit_code == 0, table.output
    assert "a.jsonl: extra" in table.output and "unknown_columns" in table.output
    status = json.loads(shown.stdout)
    assert REQUIRED_KEYS <= set(status)
    assert status == warehouse_status(home.warehouse_path)
    assert (status["events"], status["persons"]) == (3, 2)
    assert (status["files_loaded"], status["files_quarantined"]) == (2, 1)
    assert status["rows_quarantined"] == {"bad_device": 1}
    assert status["duplicates_skipped"] == 2
    assert status["unknown_columns"] == {"a.jsonl": ["extra"]}
    assert status["unknown_column_count"] == 1
    assert status["first_event_at"] == "2026-03-01T07:00:00Z"
    assert status["persons_suppressed"] == 0


def test_strict_exits_non_zero_only_when_something_was_quarantined(home,
                                                                   tmp_path):
    runner = CliRunner()
    write_csv(tmp_path / "clean" / "a.csv", [good_event(1)])
    write_csv(tmp_path / "dirty" / "a.csv", [good_event(2), bad_event(3, "bad_consent")])
    clean = runner.invoke(build_app(), ["ingest", str(tmp_path / "clean"), "--strict"])
    dirty = runner.invoke(build_app(), ["ingest", str(tmp_path / "dirty"), "--strict"])
    lenient = runner.invoke(build_app(), ["ingest", str(tmp_path / "dirty")])
    assert clean.exit_code == 0, clean.output
    assert dirty.exit_code == 1 and "bad_consent" in dirty.output
    assert lenient.exit_code == 0


def test_user_errors_are_one_line_without_traceback(home, tmp_path):
    runner = CliRunner()
    status = runner.invoke(build_app(), ["status"])
    missing_inbox = runner.invoke(build_app(), ["ingest", str(tmp_path / "nowhere")])
    missing_optouts = runner.invoke(build_app(), ["optout", str(tmp_path / "nope.csv")])
    for result in (status, missing_inbox, missing_optouts):
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        assert result.output.strip().startswith("error:")


def _warehouse_stopped_after(home, migrations: int) -> None:
    """The warehouse a first run leaves when killed after `migrations` migrations (0: DuckDB had
    created the file and nothing else)."""
    import duckdb

    from warehouse.migrations import migrate

    home.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(home.warehouse_path)) as con:
        if migrations:
            migrate(con, target=migrations)


@pytest.mark.parametrize("migrations", [0, 2])
def test_status_of_a_warehouse_never_set_up_is_one_line_saying_what_to_run(home, migrations):
    # given the warehouse of a first run killed before it had created every table
    _warehouse_stopped_after(home, migrations)
    # when `norrut status --json` runs as its own process
    done = subprocess.run([NORRUT, "status", "--json"], capture_output=True, text=True,
                          timeout=120, check=False)
    # then it says in one line what is wrong and what to run, with exit code 2
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == "", done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), done.stderr
    assert f"schema version {migrations}" in lines[0] and "norrut ingest" in lines[0], lines[0]


def test_status_of_a_file_that_is_not_a_warehouse_says_so(home):
    # given junk where the warehouse should be
    home.warehouse_path.write_bytes(b"not a database" * 100)
    # when reading the status, then one line says the file is unreadable, not that it is busy
    result = CliRunner().invoke(build_app(), ["status"])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: cannot read the warehouse"), result.output
    assert "not a valid DuckDB database file" in result.output and "in use" not in result.output
