"""Ingestion benchmark: rows/s per format and the cost over a bare DuckDB load of the same files.

    python bench/ingest.py --persons 20000 --days 30

Simulates a world (`norrut simulate`, no faults, so the bare load can read every file), then for
each format loads its files twice, each in a fresh process and a fresh warehouse file:
- `norrut` : warehouse.ingest.ingest_inbox (hashing, validation, dedup, quarantine, manifest);
- `bare`   : CREATE TABLE AS SELECT * FROM read_csv/read_json/read_parquet(<same files>).
It prints seconds, rows/s, the ratio norrut/bare and each process's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FORMATS = {"csv": (".csv", ".csv.gz"), "jsonl": (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz"),
           "parquet": (".parquet",)}
BARE_READERS = {
    "csv": "read_csv(?, union_by_name = true, all_varchar = true)",
    "jsonl": "read_json(?, format = 'newline_delimited', union_by_name = true)",
    "parquet": "read_parquet(?, union_by_name = true)",
}


def _measure_norrut(inbox: Path, warehouse: Path) -> dict:
    from warehouse.db import open_warehouse
    from warehouse.ingest import ingest_inbox

    # Steady state: the warehouse exists (creating the schema is a one-time cost).
    with open_warehouse(warehouse):
        pass
    started = time.perf_counter()
    report = ingest_inbox(warehouse, inbox)
    return {"seconds": time.perf_counter() - started, "rows": report.rows_read,
            "loaded": report.rows_loaded, "quarantined": report.rows_quarantined}


def _measure_bare(inbox: Path, warehouse: Path, file_format: str) -> dict:
    import duckdb

    files = sorted(str(p) for p in inbox.iterdir())
    started = time.perf_counter()
    with duckdb.connect(str(warehouse)) as con:
        con.execute("set enable_progress_bar = false")
        con.execute(f"create table bare as select * from {BARE_READERS[file_format]}", [files])
        rows = con.execute("select count(*) from bare").fetchone()[0]
    return {"seconds": time.perf_counter() - started, "rows": rows}


def _measure_primary_key(variant: str, warehouse: Path, batches: int, batch_rows: int) -> dict:
    """Load overlapping batches of event ids into an events-like table, deduplicating either
    with a PRIMARY KEY index (insert or ignore) or with an anti-join on a plain table."""
    import duckdb

    key = "primary key" if variant == "primary_key" else "not null"
    started = time.perf_counter()
    with duckdb.connect(str(warehouse)) as con:
        con.execute("set enable_progress_bar = false")
        con.execute(f"create table events (event_id varchar {key}, person_id varchar, "
                    "occurred_at timestamp)")
        for batch in range(batches):
            # each batch repeats a tenth of the previous one, like re-delivered events
            first = batch * batch_rows * 9 // 10
            batch_sql = ("select 'ev_' || lpad(cast(n as varchar), 16, '0') as event_id, "
                         "'ck_' || cast(n % 100000 as varchar) as person_id, "
                         "timestamp '2026-01-01' + to_seconds(n) as occurred_at "
                         "from range(?, ? + ?) as r(n)")
            if variant == "primary_key":
                con.execute(f"insert or ignore into events {batch_sql}",
                            [first, first, batch_rows])
            else:
                con.execute(f"insert into events select batch.* from ({batch_sql}) as batch "
                            "anti join events using (event_id)", [first, first, batch_rows])
        rows = con.execute("select count(*) from events").fetchone()[0]
    return {"seconds": time.perf_counter() - started, "rows": rows,
            "file_mib": warehouse.stat().st_size / 2**20}


def _child(kind: str, inbox: Path, file_format: str) -> dict:
    """Run one measurement in a fresh process, so its peak RSS is its own."""
    with tempfile.TemporaryDirectory(prefix="norrut-bench-") as folder:
        output = subprocess.run(
            [sys.executable, __file__, "--measure", kind, "--inbox", str(inbox),
             "--format", file_format, "--warehouse", str(Path(folder) / "w.duckdb")],
            cwd=REPO, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def _split_by_format(inbox: Path, target: Path) -> dict[str, Path]:
    folders = {}
    for file_format, suffixes in FORMATS.items():
        folder = target / file_format
        folder.mkdir(parents=True)
        for path in sorted(inbox.iterdir()):
            if path.name.lower().endswith(suffixes):
                os.link(path, folder / path.name)
        folders[file_format] = folder
    return folders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=20_000, help="simulated persons")
    parser.add_argument("--days", type=int, default=30, help="simulated days")
    parser.add_argument("--seed", type=int, default=7, help="simulation seed")
    parser.add_argument("--memory-limit", help="DuckDB memory limit for norrut's load "
                        "(NORRUT_DUCKDB_MEMORY_LIMIT), e.g. 256MB, to show RSS stays bounded")
    parser.add_argument("--compare-primary-key", action="store_true",
                        help="instead: compare dedup by PRIMARY KEY index vs anti-join")
    parser.add_argument("--batches", type=int, default=10, help="batches for --compare-primary-key")
    parser.add_argument("--batch-rows", type=int, default=300_000,
                        help="rows per batch for --compare-primary-key")
    parser.add_argument("--measure", choices=("norrut", "bare", "primary_key", "anti_join"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--inbox", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--format", help=argparse.SUPPRESS)
    parser.add_argument("--warehouse", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.measure:
        if args.measure == "norrut":
            result = _measure_norrut(args.inbox, args.warehouse)
        elif args.measure in ("primary_key", "anti_join"):
            result = _measure_primary_key(args.measure, args.warehouse, args.batches,
                                          args.batch_rows)
        else:
            result = _measure_bare(args.inbox, args.warehouse, args.format)
        result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return

    if args.compare_primary_key:
        print(f"load average before: {os.getloadavg()}")
        for variant in ("primary_key", "anti_join"):
            with tempfile.TemporaryDirectory(prefix="norrut-bench-") as folder:
                output = subprocess.run(
                    [sys.executable, __file__, "--measure", variant, "--warehouse",
                     str(Path(folder) / "w.duckdb"), "--batches", str(args.batches),
                     "--batch-rows", str(args.batch_rows)],
                    cwd=REPO, check=True, capture_output=True, text=True).stdout
            result = json.loads(output.strip().splitlines()[-1])
            print(f"{variant:12} {args.batches} batches x {args.batch_rows:,} rows: "
                  f"{result['rows']:,} stored, {result['seconds']:.2f} s, "
                  f"peak RSS {result['peak_rss_mib']:.0f} MiB, file {result['file_mib']:.0f} MiB")
        print(f"load average after: {os.getloadavg()}")
        return

    work = Path(tempfile.mkdtemp(prefix="norrut-bench-world-"))
    try:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "from norrut.cli import main; main()", "simulate",
                        str(work / "world"), "--persons", str(args.persons), "--days",
                        str(args.days), "--seed", str(args.seed), "--no-faults"],
                       cwd=REPO, check=True, capture_output=True)
        print(f"world: {args.persons} persons, {args.days} days, simulated in "
              f"{time.perf_counter() - started:.1f} s")
        folders = _split_by_format(work / "world" / "inbox", work / "by_format")
        if args.memory_limit:
            os.environ["NORRUT_DUCKDB_MEMORY_LIMIT"] = args.memory_limit
            print(f"norrut's DuckDB memory limit: {args.memory_limit}")
        print(f"load average before: {os.getloadavg()}")
        print(f"{'format':8} {'files':>5} {'MiB':>7} {'rows':>10} {'norrut s':>9} {'bare s':>7} "
              f"{'norrut rows/s':>14} {'bare rows/s':>12} {'ratio':>6} {'RSS norrut':>11} "
              f"{'RSS bare':>9}")
        for file_format, folder in folders.items():
            files = list(folder.iterdir())
            size = sum(p.stat().st_size for p in files) / 2**20
            bare = _child("bare", folder, file_format)
            ours = _child("norrut", folder, file_format)
            print(f"{file_format:8} {len(files):5d} {size:7.1f} {ours['rows']:10,d} "
                  f"{ours['seconds']:9.2f} {bare['seconds']:7.2f} "
                  f"{ours['rows'] / ours['seconds']:14,.0f} {bare['rows'] / bare['seconds']:12,.0f} "
                  f"{ours['seconds'] / bare['seconds']:6.2f} {ours['peak_rss_mib']:9.0f}Mi "
                  f"{bare['peak_rss_mib']:7.0f}Mi")
            if ours["rows"] != bare["rows"]:
                print(f"  note: rows differ (norrut read {ours['rows']}, bare {bare['rows']})")
        print(f"load average after: {os.getloadavg()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
