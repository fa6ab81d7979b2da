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
def test_status_equals_the_simulators_expected_counts(prefect_harness, home, tmp_path):
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
