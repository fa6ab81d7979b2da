"""A real ingest process killed with SIGKILL at any moment, then rerun, ends exactly like an
uninterrupted run: a batch's events, quarantine rows and manifest rows commit together."""

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
from warehouse.ingest.loading import ingest_inbox
from warehouse.status import warehouse_status

REPO = Path(__file__).resolve().parents[2]
# Prints the number of files committed so far, so the test can kill at known points; batches of
# two files, so a run of eight files has points between commits.
INGEST = ("import sys; from warehouse.ingest.loading import ingest_inbox; "
          "ingest_inbox(sys.argv[1], sys.argv[2], batch_max_files=2, "
          "progress=lambda result, done, total: print(done, flush=True))")
TIMING_KEYS = {"last_ingest_at"}


def _start_ingest(warehouse: Path, inbox: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", INGEST, str(warehouse), str(inbox)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def _fingerprint(warehouse: Path) -> tuple:
    """Status counts plus a checksum of every stored event and quarantine row."""
    status = {k: v for k, v in warehouse_status(warehouse).items() if k not in TIMING_KEYS}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        events = con.execute("select count(*), sum(hash(event_id, person_id, occurred_at, "
                             "channel, file_sha256)) from raw.events").fetchone()
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
    # given the result of an uninterrupted run in a real process, and when it reported each file
    reference = tmp_path / "reference" / "warehouse.duckdb"
    started = time.perf_counter()
    process = _start_ingest(reference, inbox)
    reported_at = {0: 0.0} | {int(line): time.perf_counter() - started
                              for line in process.stdout}
    process.wait(timeout=300)
    process.stdout.close()
    assert process.returncode == 0
    expected = _fingerprint(reference)
    assert expected[0]["events"] > 40_000 and expected[0]["duplicates_skipped"] > 0
    total_files = len(list(inbox.iterdir()))

    # kill points: during start-up, and after the first, second and third batches of two files
    # plus half the time the reference took to its next report, so the kill lands inside the
    # next batch's load (or its commit) however fast this machine is
    def half_way_to_next_report(files_done: int) -> float:
        following = min(done for done in reported_at if done > files_done)
        return (reported_at[following] - reported_at[files_done]) / 2

    kill_points = [(files_done, half_way_to_next_report(files_done))
                   for files_done in (0, 2, 4, 6)]
    for attempt, (files_done, delay) in enumerate(kill_points):
        # when a run is killed with SIGKILL at that point, then the inbox is ingested again
        warehouse = tmp_path / f"killed-{attempt}" / "warehouse.duckdb"
        process = _start_ingest(warehouse, inbox)
        reported = 0
        while reported < files_done:
            line = process.stdout.readline()
            assert line, "the run ended before the kill point"
            reported = int(line)
        time.sleep(delay)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
        process.stdout.close()
        if files_done:
            with duckdb.connect(str(warehouse), read_only=True) as con:
                committed = con.execute("select count(*) from raw.ingest_files").fetchone()[0]
            assert files_done <= committed < total_files, "the kill did not land mid-run"
        ingest_inbox(warehouse, inbox)

        # then everything matches the uninterrupted run exactly
        assert _fingerprint(warehouse) == expected, f"differs after kill point {attempt}"
