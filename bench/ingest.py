"""Ingestion benchmark: norrut, a bare DuckDB load and (with --peer dlt) dlt on the same files.

    uv run --locked python bench/ingest.py --persons 20000 --days 30 --bad-rate 0 0.001 0.01 \
        --peer dlt

For each --bad-rate, simulates a world (simulator.world: WorldSettings(faults=True,
fault_rate=RATE, unknown_columns=False)) and lays out the inbox of issue 12: its 12 event
files (4 per format, round robin) rewritten, content unchanged, as jsonl.gz, CSV and
Parquet; bad rows of every kind at RATE in every text file (Parquet files stay clean); the simulator's re-delivered
duplicates (a few hundred per file); and, for the whole-inbox run only, its truncated gzip
(the simulator's other bad files, an .xlsx and a renamed copy, are left out). Every file is
read once (page cache warm for all sides), then per format and for the whole inbox each side
loads `--repeats` times, the order rotating, each load in a fresh process and warehouse file:
- `norrut` : warehouse.ingest.loading.ingest_inbox (every contract rule, quarantine, dedup,
             manifest) of every file, the truncated gzip included (quarantined whole);
- `bare`   : CREATE TABLE AS SELECT * FROM read_json/read_csv(<files>, ignore_errors = true)
             UNION ALL BY NAME read_parquet(<files>): no check, duplicates kept, text
             values as text (see BARE_READERS). It cannot read a truncated gzip at all, so that file is left out;
- `dlt`    (with --peer dlt): dlt into DuckDB, write_disposition="merge", primary_key=
             "event_id", every value as a string (see _measure_dlt). dlt stops at the first
             row without an event_id, so this peer drops those rows by hand (and lines that
             are no JSON object or have the wrong number of CSV fields); truncated gzip left
             out, as for bare;
It prints each run (with the load average), then per format and for the whole inbox the
median seconds, the ratios norrut/bare and dlt/norrut, rows/s (of the rows in the files, the
same count for every side) and each side's largest peak RSS.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FORMATS = {"csv": (".csv", ".csv.gz"), "jsonl": (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz"),
           "parquet": (".parquet",)}
# DuckDB's plain readers with default options (auto-detection included), plus what they need to
# read these files together at all: column order differs by file, so columns are matched by name
# (union_by_name); CSV's consent is `true` in one file and `1` in another (both contract
# values), which auto-detected types cannot unite, so CSV is read as text (all_varchar); text
# files hold bad rows, which the readers skip where they can (ignore_errors); and one JSON line
# that is an array, not an object, makes auto-detection read a whole file as one JSON column,
# so JSON lines are read with the contract's fields as text (columns, as all_varchar for CSV;
# such a line becomes a row of nulls).
BARE_READERS = {
    "jsonl": "read_json(?, columns = ?, format = 'newline_delimited', ignore_errors = true)",
    "csv": "read_csv(?, union_by_name = true, all_varchar = true, ignore_errors = true)",
    "parquet": "read_parquet(?, union_by_name = true)",
}
WHOLE_INBOX = "all"
TRUNCATED_PREFIX = "upload-interrupted-"
DLT_CHUNK_ROWS = 50_000


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
            "rows": report.rows_loaded, "read": report.rows_read,
            "quarantined": report.rows_quarantined}


def _format_of(path: Path) -> str | None:
    return next((name for name, suffixes in FORMATS.items()
                 if path.name.lower().endswith(suffixes)), None)


def _readable_files(inbox: Path) -> dict[str, list[str]]:
    """The files per format that a reader without checks can read: all but the truncated
    gzip, which DuckDB's readers (even with ignore_errors) and Python's gzip refuse whole."""
    files: dict[str, list[str]] = {}
    for path in sorted(inbox.iterdir()):
        if (file_format := _format_of(path)) and not path.name.startswith(TRUNCATED_PREFIX):
            files.setdefault(file_format, []).append(str(path))
    return {name: files[name] for name in FORMATS if name in files}


def _measure_bare(inbox: Path, warehouse: Path) -> dict:
    import duckdb

    from core.contract import EVENT_FIELDS

    files = _readable_files(inbox)
    selects = " union all by name ".join(f"select * from {BARE_READERS[name]}" for name in files)
    parameters: list[object] = []
    for name, paths in files.items():
        parameters += [paths, dict.fromkeys(EVENT_FIELDS, "VARCHAR")] if name == "jsonl" \
            else [paths]
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    with duckdb.connect(str(warehouse)) as con:
        con.execute("set enable_progress_bar = false")
        con.execute(f"create table bare as {selects}", parameters)
        rows = con.execute("select count(*) from bare").fetchone()[0]
    return {"seconds": time.perf_counter() - started, "cpu_seconds": _cpu_seconds() - cpu_started,
            "rows": rows}


def _as_text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)  # numbers and booleans as JSON writes them: 12.5, 1700000000000, true


def _string_tables(path: Path, file_format: str, dropped: dict[str, int]):
    """One file's rows as Arrow tables of text columns, in chunks, without the rows dlt cannot
    take: no event_id (the merge key; dlt stops at the first one) and lines that are no JSON
    object or have the wrong number of CSV fields (what ignore_errors skips for bare)."""
    import csv
    import gzip
    import io

    import orjson
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if file_format == "parquet":
        for batch in pq.ParquetFile(path).iter_batches(batch_size=DLT_CHUNK_ROWS):
            table = pa.Table.from_batches([batch])
            table = pa.table({name: pc.cast(table[name], pa.string())
                              for name in table.column_names})
            keep = pc.fill_null(pc.not_equal(table["event_id"], ""), False)
            dropped["no_event_id"] += len(table) - pc.sum(keep).as_py()
            yield table.filter(keep)
        return

    def tables(rows):
        chunk: list[dict] = []
        for row in rows:
            if row is None:
                dropped["unparseable"] += 1
            elif not row.get("event_id"):
                dropped["no_event_id"] += 1
            else:
                chunk.append(row)
            if len(chunk) == DLT_CHUNK_ROWS:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    opened = gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")  # noqa: SIM115
    with opened as raw:
        if file_format == "jsonl":
            def rows():
                for line in raw:
                    try:
                        document = orjson.loads(line)
                    except orjson.JSONDecodeError:
                        yield None
                        continue
                    yield ({name: _as_text(value) for name, value in document.items()}
                           if isinstance(document, dict) else None)
        else:
            reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
            header = next(reader)

            def rows():
                for fields in reader:
                    yield ({name: value or None for name, value in zip(header, fields)}
                           if len(fields) == len(header) else None)
        for chunk in tables(rows()):
            names = list(dict.fromkeys(name for row in chunk for name in row))
            yield pa.Table.from_pylist(chunk, schema=pa.schema([(n, pa.string()) for n in names]))


def _measure_dlt(inbox: Path, warehouse: Path) -> dict:
    """dlt into DuckDB as its documentation shows a deduplicating load: one resource, merged on
    event_id; every value a string so no file's types conflict with another's."""
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    os.environ.setdefault("DLT_DATA_DIR", str(warehouse.parent / "dlt-data"))
    import dlt
    import duckdb

    files = _readable_files(inbox)
    dropped = {"no_event_id": 0, "unparseable": 0}

    @dlt.resource(name="events", write_disposition="merge", primary_key="event_id")
    def events():
        for file_format, paths in files.items():
            for path in paths:
                yield from _string_tables(Path(path), file_format, dropped)

    pipeline = dlt.pipeline(pipeline_name="bench_ingest", dataset_name="raw",
                            destination=dlt.destinations.duckdb(str(warehouse)),
                            pipelines_dir=str(warehouse.parent / "dlt-pipelines"))
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    pipeline.run(events())
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_started
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("select count(*) from raw.events").fetchone()[0]
    return {"seconds": seconds, "cpu_seconds": cpu, "rows": rows,
            "dropped_no_event_id": dropped["no_event_id"],
            "dropped_unparseable": dropped["unparseable"]}


def _measure_hourly(world_inbox: Path, rows: int, repeats: int) -> None:
    """The everyday case: one new file of `rows` events into a warehouse that already holds the
    whole world (each from a copy of the same warehouse, `repeats` times, in this process)."""
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
        seconds = []
        for repeat in range(repeats):
            warehouse = Path(folder) / f"copy-{repeat}.duckdb"
            shutil.copy(base, warehouse)
            started = time.perf_counter()
            ingest_inbox(warehouse, inbox)
            seconds.append(time.perf_counter() - started)
            warehouse.unlink()
        print(f"  {rows:,} new rows: median {statistics.median(seconds):.2f} s "
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
        done = subprocess.run(
            [sys.executable, __file__, "--measure", kind, "--inbox", str(inbox),
             "--format", file_format, "--warehouse", str(Path(folder) / "w.duckdb")],
            check=False, cwd=REPO, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"the {kind} load of {inbox.name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _load() -> str:
    return "/".join(f"{value:.1f}" for value in os.getloadavg())


def _simulate(world: Path, args: argparse.Namespace, rate: float) -> None:
    """A world with --faults' duplicates and bad files and `rate` bad rows in every text
    file, but no column outside the contract (the issue's inbox has none), in a process of
    its own (the parent stays small)."""
    code = ("import sys; from pathlib import Path; "
            "from simulator.world import WorldSettings, simulate_world; "
            "simulate_world(Path(sys.argv[1]), WorldSettings(persons=int(sys.argv[2]), "
            "days=int(sys.argv[3]), seed=int(sys.argv[4]), files_per_format=int(sys.argv[5]), "
            "faults=True, fault_rate=float(sys.argv[6]), unknown_columns=False))")
    subprocess.run([sys.executable, "-c", code, str(world), str(args.persons), str(args.days),
                    str(args.seed), str(args.files_per_format), str(rate)],
                   cwd=REPO, check=True, capture_output=True)


@dataclass
class Target:
    """What one load reads: a folder of the bench's inbox and what its files hold."""

    name: str
    folder: Path
    files: int = 0
    mib: float = 0.0
    rows: int = 0
    bad_rows: int = 0
    duplicates: int = 0
    events: int | None = None  # distinct valid events, known for the whole inbox


def _lay_out_inbox(world: Path, root: Path) -> dict[str, Target]:
    """The issue's inbox from a simulated world: its event files as jsonl.gz, CSV and Parquet
    (the same lines; only compression and suffix change), hard-linked into one folder per
    format and one for the whole inbox, which alone also holds the truncated gzip."""
    from simulator.files import gzip_bytes

    expected = json.loads((world / "truth" / "expected_ingest.json").read_text())
    inbox = root / "inbox"
    inbox.mkdir(parents=True)
    names = [*FORMATS, WHOLE_INBOX]
    targets = {name: Target(name, root / name) for name in names}
    for target in targets.values():
        target.folder.mkdir()
    for planned in expected["files"]:
        source = world / "inbox" / planned["file"]
        file_format = _format_of(source)
        name = planned["file"].split(".")[0] + {"jsonl": ".jsonl.gz", "csv": ".csv",
                                                 "parquet": ".parquet"}[file_format]
        data = source.read_bytes()
        if source.name.endswith(".gz") != name.endswith(".gz"):
            data = gzip_bytes(data) if name.endswith(".gz") else gzip.decompress(data)
        (inbox / name).write_bytes(data)
        for target in (targets[file_format], targets[WHOLE_INBOX]):
            os.link(inbox / name, target.folder / name)
            target.files += 1
            target.mib += len(data) / 2**20
            target.rows += planned["rows"]
            target.bad_rows += sum(planned["rows_quarantined"].values())
            target.duplicates += planned["duplicates_skipped"]
    targets[WHOLE_INBOX].events = expected["events"]
    for item in expected["quarantined_files"]:
        if item["file"].startswith(TRUNCATED_PREFIX):
            os.link(world / "inbox" / item["file"], targets[WHOLE_INBOX].folder / item["file"])
            targets[WHOLE_INBOX].files += 1
    return targets


def _median(runs: list[dict], key: str = "seconds") -> float:
    return statistics.median(run[key] for run in runs)


def _measure_targets(targets: dict[str, Target], args: argparse.Namespace,
                     ) -> tuple[list[str], dict[str, dict[str, float]]]:
    """Every side's loads of every chosen target; returns the summary lines and each target's
    median seconds per side."""
    sides = ("bare", "norrut", *args.peer)
    chosen = [name for name in targets if name in args.formats.split(",")]
    summary = []
    medians: dict[str, dict[str, float]] = {}
    for name in chosen:
        target = targets[name]
        runs: dict[str, list[dict]] = {kind: [] for kind in sides}
        for repeat in range(args.repeats):
            turn = repeat % len(sides)
            order = sides[turn:] + sides[:turn]
            for kind in order:
                result = _child(kind, target.folder, name)
                runs[kind].append(result)
                print(f"  {name:8} run {repeat + 1} {kind:6} {result['seconds']:7.2f} s "
                      f"(CPU {result['cpu_seconds']:6.2f} s) {result['rows']:10,d} rows stored"
                      f"  RSS {result['peak_rss_mib']:5.0f} MiB  load {_load()}", flush=True)
        seconds = medians[name] = {kind: _median(runs[kind]) for kind in sides}
        rss = {kind: max(run["peak_rss_mib"] for run in runs[kind]) for kind in sides}
        dlt_s = f"{seconds['dlt']:7.2f}" if "dlt" in sides else f"{'-':>7}"
        dlt_ratio = f"{seconds['dlt'] / seconds['norrut']:6.2f}" if "dlt" in sides else f"{'-':>6}"
        summary.append(
            f"{name:8} {target.files:5d} {target.mib:7.1f} {target.rows:10,d} "
            f"{target.bad_rows:6,d} {seconds['norrut']:8.2f} {seconds['bare']:7.2f} {dlt_s} "
            f"{seconds['norrut'] / seconds['bare']:6.2f} {dlt_ratio} "
            + " ".join(f"{target.rows / seconds[kind]:10,.0f}" for kind in sides)
            + " " + " ".join(f"{rss[kind]:5.0f}Mi" for kind in sides))
        stored = ", ".join(f"{kind} {runs[kind][0]['rows']:,}" for kind in sides)
        quarantined = runs["norrut"][0]["quarantined"]
        notes = [f"rows stored: {stored} (norrut quarantined {quarantined:,})"]
        if target.events is not None and (runs["norrut"][0]["rows"], quarantined) != (
                target.events, target.bad_rows):
            notes.append(f"WARNING: norrut should load {target.events:,} and quarantine "
                         f"{target.bad_rows:,} rows (the simulator's truth)")
        if "dlt" in sides:
            notes.append(f"dlt's hand filter dropped {runs['dlt'][0]['dropped_no_event_id']:,} "
                         f"rows without event_id and "
                         f"{runs['dlt'][0]['dropped_unparseable']:,} unparseable lines")
        summary.extend(f"           {note}" for note in notes)
    header = (f"{'load':8} {'files':>5} {'MiB':>7} {'rows':>10} {'bad':>6} {'norrut s':>8} "
              f"{'bare s':>7} {'dlt s':>7} {'n/bare':>6} {'dlt/n':>6} "
              + " ".join(f"{kind + ' r/s':>10}" for kind in sides) + " "
              + " ".join(f"{'RSS ' + kind[0]:>7}" for kind in sides))
    return [header, *summary], medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=20_000, help="simulated persons")
    parser.add_argument("--days", type=int, default=30, help="simulated days")
    parser.add_argument("--seed", type=int, default=7, help="simulation seed")
    parser.add_argument("--files-per-format", type=int, default=4,
                        help="event files per format (3 formats, round robin)")
    parser.add_argument("--bad-rate", type=float, nargs="+", default=[0.0],
                        help="share of bad rows in every text file, e.g. 0 0.0001 0.001 0.01 "
                        "(one world and one round of loads each)")
    parser.add_argument("--peer", choices=("dlt",), action="append", default=[],
                        help="also load the same files with this peer (dlt, from the `bench` "
                        "dependency group)")
    parser.add_argument("--world", type=Path,
                        help="reuse a world simulated before instead (its own faults; "
                        "--bad-rate does not apply)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="loads per side and target (medians are reported)")
    parser.add_argument("--formats", default=f"csv,jsonl,parquet,{WHOLE_INBOX}",
                        help=f"comma-separated targets to measure: formats and {WHOLE_INBOX} "
                        "(the whole inbox)")
    parser.add_argument("--hourly-rows", type=int, default=0,
                        help="also time one new JSON-lines file of this many rows into a "
                        "warehouse already holding the (last) world")
    parser.add_argument("--memory-limit", help="DuckDB memory limit for norrut's load "
                        "(NORRUT_DUCKDB_MEMORY_LIMIT), e.g. 256MB, to show RSS stays bounded")
    parser.add_argument("--compare-primary-key", action="store_true",
                        help="instead: compare dedup by PRIMARY KEY index vs anti-join")
    parser.add_argument("--batches", type=int, default=10, help="batches for --compare-primary-key")
    parser.add_argument("--batch-rows", type=int, default=300_000,
                        help="rows per batch for --compare-primary-key")
    parser.add_argument("--measure",
                        choices=("norrut", "bare", "dlt", "primary_key", "anti_join"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--inbox", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--format", help=argparse.SUPPRESS)
    parser.add_argument("--warehouse", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.peer = tuple(dict.fromkeys(args.peer))

    if args.measure:
        _warm_up_client()
        if args.measure == "norrut":
            result = _measure_norrut(args.inbox, args.warehouse)
        elif args.measure == "dlt":
            result = _measure_dlt(args.inbox, args.warehouse)
        elif args.measure in ("primary_key", "anti_join"):
            result = _measure_primary_key(args.measure, args.warehouse, args.batches,
                                          args.batch_rows)
        else:
            result = _measure_bare(args.inbox, args.warehouse)
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        helpers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # dlt's workers, if any
        result["peak_rss_mib"] = max(own, helpers) / 1024
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

    if args.memory_limit:
        os.environ["NORRUT_DUCKDB_MEMORY_LIMIT"] = args.memory_limit
        print(f"norrut's DuckDB memory limit: {args.memory_limit}")
    work = Path(tempfile.mkdtemp(prefix="norrut-bench-world-"))
    try:
        rates = [None] if args.world else args.bad_rate
        world = args.world
        by_rate: list[tuple[float | None, Target, dict[str, float]]] = []
        for position, rate in enumerate(rates):
            round_dir = work / f"round-{position}"
            if rate is not None:
                world = round_dir / "world"
                started = time.perf_counter()
                _simulate(world, args, rate)
                print(f"\nbad rate {rate:g}: world of {args.persons} persons, {args.days} days "
                      f"(faults, fault_rate={rate:g}) simulated in "
                      f"{time.perf_counter() - started:.1f} s")
            else:
                print(f"\nworld: {world}")
            targets = _lay_out_inbox(world, round_dir / "bench")
            whole = targets[WHOLE_INBOX]
            print(f"inbox: {whole.files} files ({whole.rows:,} rows, {whole.bad_rows:,} bad, "
                  f"{whole.duplicates:,} duplicates by event_id); bare and dlt leave the "
                  "truncated gzip out (they cannot read it); dlt drops rows without event_id "
                  "by hand (it stops at the first one otherwise)")
            for path in (round_dir / "bench" / "inbox").iterdir():
                path.read_bytes()  # warm the page cache for every side alike
            print(f"load average before: {_load()}")
            lines, medians = _measure_targets(targets, args)
            if WHOLE_INBOX in medians:
                by_rate.append((rate, whole, medians[WHOLE_INBOX]))
            print(f"medians of {args.repeats} runs per side, order rotating; rows/s of the "
                  "rows in the files; ratios of the medians:")
            print("\n".join(lines))
            print(f"load average after: {_load()}")
            if position < len(rates) - 1:
                shutil.rmtree(round_dir)
        if len(by_rate) > 1:
            print("\nwhole inbox by bad rate (medians):")
            print(f"{'bad rate':>8} {'bad rows':>8} {'norrut s':>8} {'bare s':>7} {'dlt s':>7} "
                  f"{'n/bare':>6} {'dlt/n':>6}")
            for rate, whole, seconds in by_rate:
                dlt = seconds.get("dlt")
                print(f"{rate:8g} {whole.bad_rows:8,d} {seconds['norrut']:8.2f} "
                      f"{seconds['bare']:7.2f} "
                      + (f"{dlt:7.2f} {seconds['norrut'] / seconds['bare']:6.2f} "
                         f"{dlt / seconds['norrut']:6.2f}" if dlt is not None else
                         f"{'-':>7} {seconds['norrut'] / seconds['bare']:6.2f} {'-':>6}"))
        if args.hourly_rows:
            _measure_hourly(world / "inbox", args.hourly_rows, args.repeats)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
