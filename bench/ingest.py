"""Ingestion benchmark: rows/s per format and the cost over a bare DuckDB load of the same files.

    python bench/ingest.py --persons 20000 --days 30

Simulates a world (`norrut simulate`, no faults, so the bare load can read every file), reads
every file once (so both sides start with the files in the page cache), then for each format
loads its files `--repeats` times per side, alternating which side goes first, each load in a
fresh process and a fresh warehouse file:
- `norrut` : warehouse.ingest.ingest_inbox (hashing, validation, dedup, quarantine, manifest);
- `bare`   : CREATE TABLE AS SELECT * FROM read_csv/read_json/read_parquet(<same files>) with
             DuckDB's default reader options but union_by_name (column order differs by file)
             and, for CSV, all_varchar (see BARE_READERS);
- `typed`  (with --typed): norrut's own direct readers into raw.events with the values typed
             (timestamps parsed, numbers and booleans cast) but no check, no hashing and no
             dedup: what the load costs before validation, to see where the ratio goes.
It prints each run (with the load average), then per format the median seconds, rows/s, the
ratio of the medians norrut/bare and each side's largest peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FORMATS = {"csv": (".csv", ".csv.gz"), "jsonl": (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz"),
           "parquet": (".parquet",)}
# DuckDB's plain readers with default options (auto-detection included), plus what they need to
# read these files together at all: column order differs by file, so columns are matched by name
# (union_by_name); and CSV's consent is `true` in one file and `1` in another (both contract
# values), which auto-detected types cannot unite, so CSV is read as text (all_varchar).
BARE_READERS = {
    "csv": "read_csv(?, union_by_name = true, all_varchar = true)",
    "jsonl": "read_json(?, union_by_name = true)",
    "parquet": "read_parquet(?, union_by_name = true)",
}


def _cpu_seconds() -> float:
    """User + system CPU time of this process (all its threads): steadier than wall time on a
    machine shared with other work."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _warm_up_client() -> None:
    """DuckDB's Python client imports pandas, numpy and pyarrow on the first query that binds a
    parameter (seconds on a loaded machine). Both sides bind parameters, so both pay that here,
    before their clocks start, not inside one side's measurement."""
    import duckdb

    duckdb.connect().execute("select ?", ["warm-up"]).fetchall()


def _measure_norrut(inbox: Path, warehouse: Path) -> dict:
    from warehouse.db import open_warehouse
    from warehouse.ingest.loading import ingest_inbox

    # Steady state: the warehouse exists (creating the schema is a one-time cost).
    with open_warehouse(warehouse):
        pass
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    report = ingest_inbox(warehouse, inbox)
    return {"seconds": time.perf_counter() - started, "cpu_seconds": _cpu_seconds() - cpu_started,
            "rows": report.rows_read,
            "loaded": report.rows_loaded, "quarantined": report.rows_quarantined}


def _measure_bare(inbox: Path, warehouse: Path, file_format: str) -> dict:
    import duckdb

    files = sorted(str(p) for p in inbox.iterdir())
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    with duckdb.connect(str(warehouse)) as con:
        con.execute("set enable_progress_bar = false")
        con.execute(f"create table bare as select * from {BARE_READERS[file_format]}", [files])
        rows = con.execute("select count(*) from bare").fetchone()[0]
    return {"seconds": time.perf_counter() - started, "cpu_seconds": _cpu_seconds() - cpu_started,
            "rows": rows}


def _measure_typed(inbox: Path, warehouse: Path, file_format: str) -> dict:
    import duckdb

    from core.contract import EVENT_FIELDS
    from warehouse.db import open_warehouse
    from warehouse.ingest.files import csv_header, format_of
    from warehouse.sql_files import read_sql, reader_path, suffixed_parameters, union_of

    with open_warehouse(warehouse):
        pass
    paths = sorted(str(p) for p in inbox.iterdir() if format_of(p) == file_format)
    # One reader per layout, as the direct load does (CSV column order differs by file).
    groups: dict[tuple[str, ...], list[str]] = {}
    for path in paths:
        header = tuple(csv_header(Path(path))) if file_format == "csv" else ()
        groups.setdefault(header, []).append(path)
    typed = """
        select event_id, norrut_occurred_at(occurred_at), person_id, id_type, event_type,
               content_id, campaign_id, lower(channel), try_cast(watch_seconds as double),
               region, device, norrut_consent(consent), municipality, file_sha256
        from direct_source"""
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    params: dict[str, object] = {}
    for position, (header, members) in enumerate(groups.items(), start=1):
        group_params: dict[str, object] = {"paths": [reader_path(m) for m in members],
                                           "file_paths": members,
                                           "file_sha256s": ["0" * 64] * len(members)}
        if file_format == "jsonl":
            group_params["contract_fields"] = list(EVENT_FIELDS)
        elif file_format == "csv":
            group_params["columns"] = {name: "VARCHAR" for name in header}
        params |= suffixed_parameters(group_params, position)
    reader = union_of([read_sql(f"queries/direct_read_{file_format}.sql")] * len(groups))
    with duckdb.connect(str(warehouse)) as con:
        con.execute("set enable_progress_bar = false")
        con.execute("set timezone = 'UTC'")
        con.execute(read_sql("queries/contract_macros.sql"))
        rows = con.execute(
            f"insert into raw.events with direct_source as ({reader}) {typed}", params
        ).fetchone()[0]
    return {"seconds": time.perf_counter() - started, "cpu_seconds": _cpu_seconds() - cpu_started,
            "rows": rows}


def _measure_hourly(world_inbox: Path, rows: int, repeats: int) -> None:
    """The everyday case: one new file of `rows` events into a warehouse that already holds the
    whole world, by the direct load and by the line-checked path (each from a copy of the same
    warehouse, `repeats` times, in this process)."""
    from tests.event_files import write_generated_events  # new event ids, not the world's
    from warehouse.ingest.loading import ingest_inbox

    with tempfile.TemporaryDirectory(prefix="norrut-bench-hourly-") as folder:
        base = Path(folder) / "base.duckdb"
        started = time.perf_counter()
        stored = ingest_inbox(base, world_inbox).rows_loaded
        print(f"hourly file: warehouse of {stored:,} events built in "
              f"{time.perf_counter() - started:.1f} s")
        inbox = Path(folder) / "hourly"
        write_generated_events(inbox / "hour.jsonl", 0, rows)
        for direct_load in (True, False):
            seconds = []
            for repeat in range(repeats):
                warehouse = Path(folder) / f"copy-{direct_load}-{repeat}.duckdb"
                shutil.copy(base, warehouse)
                started = time.perf_counter()
                report = ingest_inbox(warehouse, inbox, direct_load=direct_load)
                seconds.append(time.perf_counter() - started)
                warehouse.unlink()
            path = report.files[0].load_path
            print(f"  {rows:,} new rows by the {path} path: median {statistics.median(seconds):.2f} s "
                  f"of {repeats} ({', '.join(f'{value:.2f}' for value in seconds)})")


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


def _load() -> str:
    return "/".join(f"{value:.1f}" for value in os.getloadavg())


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
    parser.add_argument("--world", type=Path,
                        help="reuse a world simulated before (`norrut simulate OUT --no-faults`)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="loads per side and format (medians are reported)")
    parser.add_argument("--formats", default="csv,jsonl,parquet",
                        help="comma-separated formats to measure")
    parser.add_argument("--typed", action="store_true",
                        help="also measure norrut's readers typing values into raw.events "
                        "without any check (where the ratio goes)")
    parser.add_argument("--hourly-rows", type=int, default=0,
                        help="also time one new JSON-lines file of this many rows into a "
                        "warehouse already holding the world, both load paths")
    parser.add_argument("--memory-limit", help="DuckDB memory limit for norrut's load "
                        "(NORRUT_DUCKDB_MEMORY_LIMIT), e.g. 256MB, to show RSS stays bounded")
    parser.add_argument("--compare-primary-key", action="store_true",
                        help="instead: compare dedup by PRIMARY KEY index vs anti-join")
    parser.add_argument("--batches", type=int, default=10, help="batches for --compare-primary-key")
    parser.add_argument("--batch-rows", type=int, default=300_000,
                        help="rows per batch for --compare-primary-key")
    parser.add_argument("--measure",
                        choices=("norrut", "bare", "typed", "primary_key", "anti_join"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--inbox", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--format", help=argparse.SUPPRESS)
    parser.add_argument("--warehouse", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.measure:
        _warm_up_client()
        if args.measure == "norrut":
            result = _measure_norrut(args.inbox, args.warehouse)
        elif args.measure == "typed":
            result = _measure_typed(args.inbox, args.warehouse, args.format)
        elif args.measure in ("primary_key", "anti_join"):
            result = _measure_primary_key(args.measure, args.warehouse, args.batches,
                                          args.batch_rows)
        else:
            result = _measure_bare(args.inbox, args.warehouse, args.format)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        result["peak_rss_mib"] = usage.ru_maxrss / 1024
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
        world = args.world or work / "world"
        if args.world is None:
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", "from norrut.cli.app import main; main()",
                            "simulate", str(world), "--persons", str(args.persons), "--days",
                            str(args.days), "--seed", str(args.seed), "--no-faults"],
                           cwd=REPO, check=True, capture_output=True)
            print(f"world: {args.persons} persons, {args.days} days, simulated in "
                  f"{time.perf_counter() - started:.1f} s")
        else:
            print(f"world: {world}")
        folders = _split_by_format(world / "inbox", work / "by_format")
        if args.memory_limit:
            os.environ["NORRUT_DUCKDB_MEMORY_LIMIT"] = args.memory_limit
            print(f"norrut's DuckDB memory limit: {args.memory_limit}")
        for path in (world / "inbox").iterdir():
            path.read_bytes()  # warm the page cache for both sides alike
        print(f"load average before: {_load()}")
        summary = []
        for file_format, folder in folders.items():
            if file_format not in args.formats.split(","):
                continue
            files = list(folder.iterdir())
            size = sum(p.stat().st_size for p in files) / 2**20
            runs: dict[str, list[dict]] = {"bare": [], "norrut": [], "typed": []}
            for repeat in range(args.repeats):
                order = ("bare", "norrut") if repeat % 2 == 0 else ("norrut", "bare")
                if args.typed:
                    order = (*order, "typed")
                for kind in order:
                    result = _child(kind, folder, file_format)
                    runs[kind].append(result)
                    print(f"  {file_format:8} run {repeat + 1} {kind:6} {result['seconds']:7.2f} s "
                          f"(CPU {result['cpu_seconds']:6.2f} s) "
                          f"{result['rows']:10,d} rows  RSS {result['peak_rss_mib']:5.0f} MiB  "
                          f"load {_load()}", flush=True)
            ours_cpu = statistics.median(r["cpu_seconds"] for r in runs["norrut"])
            bare_cpu = statistics.median(r["cpu_seconds"] for r in runs["bare"])
            ours_s = statistics.median(r["seconds"] for r in runs["norrut"])
            bare_s = statistics.median(r["seconds"] for r in runs["bare"])
            ours_rows = runs["norrut"][0]["rows"]
            bare_rows = runs["bare"][0]["rows"]
            summary.append(
                f"{file_format:8} {len(files):5d} {size:7.1f} {ours_rows:10,d} "
                f"{ours_s:9.2f} {bare_s:7.2f} {ours_rows / ours_s:14,.0f} "
                f"{bare_rows / bare_s:12,.0f} {ours_s / bare_s:6.2f} "
                f"{ours_cpu:7.2f} {bare_cpu:7.2f} {ours_cpu / bare_cpu:6.2f} "
                f"{max(r['peak_rss_mib'] for r in runs['norrut']):9.0f}Mi "
                f"{max(r['peak_rss_mib'] for r in runs['bare']):7.0f}Mi")
            if runs["typed"]:
                typed_s = statistics.median(r["seconds"] for r in runs["typed"])
                typed_cpu = statistics.median(r["cpu_seconds"] for r in runs["typed"])
                summary.append(f"  typed, no checks: {typed_s:.2f} s ({typed_s / bare_s:.2f}x bare), "
                               f"CPU {typed_cpu:.2f} s ({typed_cpu / bare_cpu:.2f}x bare)")
            if ours_rows != bare_rows:
                summary.append(f"  note: rows differ (norrut read {ours_rows}, bare {bare_rows})")
        print(f"medians of {args.repeats} alternating runs per side:")
        print(f"{'format':8} {'files':>5} {'MiB':>7} {'rows':>10} {'norrut s':>9} {'bare s':>7} "
              f"{'norrut rows/s':>14} {'bare rows/s':>12} {'ratio':>6} {'CPU n':>7} {'CPU b':>7} "
              f"{'CPU ratio':>6} {'RSS norrut':>11} "
              f"{'RSS bare':>9}")
        print("\n".join(summary))
        if args.hourly_rows:
            _measure_hourly(world / "inbox", args.hourly_rows, args.repeats)
        print(f"load average after: {_load()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
