"""End to end with the simulator: `norrut status --json` reports exactly what it planted."""

from __future__ import annotations

import json

import duckdb
import pytest
from typer.testing import CliRunner

from norrut.cli.app import build_app

# Keys the simulator's truth/expected_ingest.json shares with `norrut status --json`.
SHARED_KEYS = ("events", "persons", "duplicates_skipped", "rows_quarantined",
               "rows_quarantined_total", "files_loaded", "files_quarantined", "unknown_columns",
               "unknown_column_count", "first_event_at", "last_event_at")


@pytest.mark.slow
def test_status_equals_the_simulators_expected_counts(home, tmp_path):
    # given a small simulated world with every kind of planted fault
    runner = CliRunner()
    world = tmp_path / "world"
    simulated = runner.invoke(build_app(), ["simulate", str(world), "--persons", "1500",
                                            "--days", "8", "--seed", "11", "--faults"])
    assert simulated.exit_code == 0, simulated.output
    expected = json.loads((world / "truth" / "expected_ingest.json").read_text())

    # when its inbox and catalog are ingested and the status is read
    ingested = runner.invoke(build_app(), ["ingest", str(world / "inbox"),
                                           "--catalog", str(world / "catalog.csv")])
    assert ingested.exit_code == 0, ingested.output
    shown = runner.invoke(build_app(), ["status", "--json"])
    status = json.loads(shown.stdout)

    # then every shared count is exactly what was planted
    assert {key: status[key] for key in SHARED_KEYS} == {key: expected[key] for key in SHARED_KEYS}
    with duckdb.connect(str(home.warehouse_path), read_only=True) as con:
        files = {name: (rows, loaded, duplicates, columns) for name, rows, loaded, duplicates, columns
                 in con.execute("select file_name, rows_read, rows_loaded, duplicates_skipped, "
                                "unknown_columns from raw.ingest_files where status = 'loaded'"
                                ).fetchall()}
        by_file = {}
        for name, reason, count in con.execute(
                "select file_name, reason, count(*) from raw.quarantine_rows group by all"
        ).fetchall():
            by_file.setdefault(name, {})[reason] = count
        whole = dict(con.execute("select file_name, failure_reason from raw.ingest_files "
                                 "where status = 'quarantined'").fetchall())
    for planned in expected["files"]:
        name = planned["file"]
        assert files[name] == (planned["rows"], planned["rows_loaded"],
                               planned["duplicates_skipped"], planned["unknown_columns"]), name
        assert by_file.get(name, {}) == planned["rows_quarantined"], name
    assert whole == {item["file"]: item["reason"] for item in expected["quarantined_files"]}
    skipped = {item["file"] for item in expected["files_skipped_same_content"]}
    assert not skipped & set(files), "same content under another name is not loaded again"


def test_ingest_quarantines_exactly_what_a_fault_rate_planted(tmp_path):
    # given a world with 1 % bad rows of every kind in every text file, besides the duplicates
    # and bad files of --faults
    from simulator.world import WorldSettings, simulate_world
    from warehouse.ingest.loading import ingest_inbox

    world = tmp_path / "world"
    simulate_world(world, WorldSettings(persons=1500, days=12, seed=5, files_per_format=2,
                                        faults=True, fault_rate=0.01))
    expected = json.loads((world / "truth" / "expected_ingest.json").read_text())
    assert all(count > 0 for count in expected["rows_quarantined"].values())

    # when its inbox is ingested
    warehouse = tmp_path / "warehouse.duckdb"
    report = ingest_inbox(warehouse, world / "inbox")

    # then every file's bad rows are quarantined with the planted reasons, and the rest loaded
    with duckdb.connect(str(warehouse), read_only=True) as con:
        by_file: dict[str, dict[str, int]] = {}
        for name, reason, count in con.execute(
                "select file_name, reason, count(*) from raw.quarantine_rows group by all"
        ).fetchall():
            by_file.setdefault(name, {})[reason] = count
        loaded = dict(con.execute("select file_name, rows_loaded from raw.ingest_files "
                                  "where status = 'loaded'").fetchall())
        events = con.execute("select count(*) from raw.events").fetchone()[0]
    for planned in expected["files"]:
        assert by_file.get(planned["file"], {}) == planned["rows_quarantined"], planned["file"]
        assert loaded[planned["file"]] == planned["rows_loaded"], planned["file"]
    assert report.rows_quarantined == expected["rows_quarantined_total"]
    assert events == expected["events"]
