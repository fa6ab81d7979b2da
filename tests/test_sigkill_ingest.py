"""A real ingest process killed with SIGKILL at any moment, then rerun, ends exactly like an
uninterrupted run: each file's events, quarantine rows and manifest row commit together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.event_files import bad_event, good_event, write_csv, write_generated_events, write_jsonl
from warehouse.ingest import ingest_inbox
from warehouse.status import warehouse_status

REPO = Path(__file__).resolve().parents[1]
INGEST = "import sys; from warehouse.ingest import ingest_inbox; ingest_inbox(sys.argv[1], sys.argv[2])"
TIMING_KEYS = {"last_ingest_at"}


def _start_ingest(warehouse: Path, inbox: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", INGEST, str(warehouse), str(inbox)], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _fingerprint(warehouse: Path) -> tuple:
    """Status counts plus a checksum of every stored event and quarantine row."""
    status = {k: v for k, v in warehouse_status(warehouse).items() if k not in TIMING_KEYS}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        events = con.execute("select count(*), sum(hash(event_id, person_id, occurred_at, "
                             "source_row_number)) from raw.events").fetchone()
        quarantine = con.execute("select count(*), sum(hash(file_sha256, source_row_number, "
                                 "reason)) from raw.quarantine_rows").fetchone()
    return status, events, quarantine


@pytest.fixture(scope="module")
def inbox(tmp_path_factory) -> Path:
    """Enough files for a run of a few seconds, with duplicates across files and bad rows."""
    folder = tmp_path_factory.mktemp("sigkill") / "inbox"
    for index, suffix in enumerate(["csv", "jsonl.gz", "parquet", "ndjson", "csv.gz", "jsonl"]):
        write_generated_events(folder / f"batch-{index:02d}.{suffix}", index * 8_000, 10_000)
    write_jsonl(folder / "batch-98.jsonl", [good_event(1), bad_event(2, "bad_device")],
                extra_lines={1: "{broken"})
    write_csv(folder / "batch-99.csv", [good_event(3), bad_event(4, "pii_phone")])
    return folder


@pytest.mark.slow
def test_sigkill_at_any_point_then_rerun_gives_identical_counts(tmp_path, inbox):
    # given the result and duration of an uninterrupted run in a real process
    reference = tmp_path / "reference" / "warehouse.duckdb"
    started = time.perf_counter()
    assert _start_ingest(reference, inbox).wait(timeout=300) == 0
    duration = time.perf_counter() - started
    expected = _fingerprint(reference)
    assert expected[0]["events"] > 40_000 and expected[0]["duplicates_skipped"] > 0

    partial_runs = 0
    for attempt, fraction in enumerate((0.3, 0.55, 0.8)):
        # when a run is killed with SIGKILL part-way, then the inbox is ingested again
        warehouse = tmp_path / f"killed-{attempt}" / "warehouse.duckdb"
        process = _start_ingest(warehouse, inbox)
        time.sleep(duration * fraction)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
        if warehouse.exists():
            with duckdb.connect(str(warehouse), read_only=True) as con:
                tables = con.execute("select count(*) from duckdb_tables() "
                                     "where table_name = 'ingest_files'").fetchone()[0]
                done = con.execute("select count(*) from raw.ingest_files").fetchone()[0] \
                    if tables else 0
            partial_runs += 0 < done < 8
        ingest_inbox(warehouse, inbox)

        # then everything matches the uninterrupted run exactly
        assert _fingerprint(warehouse) == expected, f"differs after a kill at {fraction:.0%}"
    assert partial_runs >= 1, "no kill landed between files; the test proved nothing"
