"""Where an ingest batch's time goes, stage by stage, against the bare load of the same files.

    uv run --locked python bench/ingest_stages.py --persons 50000 --days 50 --bad-rate 0.001

Lays out bench/ingest.py's inbox (one folder per format) and, per format, times in this one
process, each stage `--repeats` times in rotating order (the best time is kept: the stages are
deterministic, so the fastest run is the one the shared machine disturbed least):
- `bare`          bench/ingest.py's bare load (CREATE TABLE AS over DuckDB's readers) into a
                  new warehouse file;
- `read`          norrut's readers of the batch (warehouse/ingest/batch.py, the one UNION ALL
                  statement), the contract's 13 fields into a temp table, nothing checked;
- `read+check`    the same through check_events.sql into a temp table, as load_batch does;
- `read+check to disk`  the same, but only the valid rows' stored columns, straight into a
                  table of the warehouse file: what writing them once, from the check, costs;
- `temp to disk`  the checked rows from the temp table into raw.events' columns in the
                  warehouse file: the second write;
- `norrut`        the whole load (ingest_inbox: check, dedup, opt-outs, quarantine, manifest)
                  into a new warehouse;
and each rule's macro alone over the read rows held in memory (`rule: ...`), beside copying one
column of them (`rule: none`), so the rule's own cost is the difference.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

# The contract's fields as every stage stores them.
FIELDS = ("event_id, occurred_at, person_id, id_type, event_type, content_id, campaign_id, "
          "channel, watch_seconds, region, device, consent, municipality")
RULES = {
    "none": "occurred_at",
    "screen (personal data, padding)":
        "norrut_may_hold_pii_or_untrimmed(array_to_string(field_values, chr(10)))",
    "occurred_at": "norrut_occurred_at(occurred_at)",
    "person_id (form, canonical)":
        "norrut_is_person_id(person_id) and norrut_canonical_person_id(person_id) is not null",
}


def _best(seconds: list[float]) -> float:
    return min(seconds)


def _batch_files(con, folder: Path) -> list:
    """Every file of `folder` as load_batch reads it (warehouse.ingest.batch.BatchFile), less
    those refused whole before any read (the whole inbox's truncated gzip)."""
    from warehouse.ingest.batch import BatchFile, plan_file
    from warehouse.ingest.files import digest_files

    paths = sorted(folder.iterdir())
    files = []
    for path, digest in zip(paths, digest_files(paths), strict=True):
        planned = plan_file(con, path, path.name, digest)
        if isinstance(planned, BatchFile):
            files.append(planned)
    return files


def _one_statement(files: list) -> tuple[str, dict[str, object]]:
    """Every file's reader in one statement, a UNION ALL (how load_batch read a batch before
    2026-12-07), and its parameters, each file's named with its position as a suffix."""
    from warehouse.ingest.batch import reader_query

    branches, params = [], {}
    for position, file in enumerate(files, start=1):
        query, file_params = reader_query(file.file_format, position, file)
        branches.append("select * from (\n" + re.sub(r"\$([A-Za-z_]\w*)", rf"$\1_{position}",
                                                      query) + "\n)")
        params |= {f"{name}_{position}": value for name, value in file_params.items()}
    return "\nunion all by name\n".join(branches), params


def _stages(folder: Path, work: Path, scratch: ExitStack) -> dict[str, Callable[[], None]]:
    """Each stage as a function that runs it once (its setup outside the clock is done here);
    `scratch` holds the batch's scratch database open until the caller is done."""
    import duckdb
    import ingest as ingest_bench

    from warehouse.db import open_warehouse
    from warehouse.ingest.batch import SCRATCH, _read_files, ingest_scratch
    from warehouse.ingest.checks import contract_rule_params
    from warehouse.ingest.loading import ingest_inbox
    from warehouse.settings import DEFAULT_EARLIEST_OCCURRED_AT
    from warehouse.sql_files import compose_insert, read_sql

    warehouse = work / "stages.duckdb"
    with open_warehouse(warehouse):
        pass  # the schema, for plan_file's look-up of files loaded before
    con = duckdb.connect(str(warehouse))
    con.execute("set enable_progress_bar = false")
    # as load_batch runs its inserts (batch._order_not_kept)
    con.execute("set preserve_insertion_order = false")
    con.execute(read_sql("queries/contract_macros.sql"))
    scratch.enter_context(ingest_scratch(con))
    checked = f"{SCRATCH}.ingest_checked"
    files = _batch_files(con, folder)
    source, params = _one_statement(files)
    check = read_sql("queries/check_events.sql")
    all_check_params = contract_rule_params(DEFAULT_EARLIEST_OCCURRED_AT)
    check_params = {name: value for name, value in all_check_params.items()
                    if f"${name}" in check}
    con.execute(f"create table events_on_disk as select {FIELDS} from {checked} limit 0")
    con.execute(compose_insert(checked, "ingest_source", source, check), params | check_params)
    con.execute(f"create temp table read_rows as {source}", params)
    con.execute(f"create temp table read_fields as select {FIELDS} from read_rows limit 0")

    def into(table: str, query: str, query_params: dict[str, object]) -> Callable[[], None]:
        def run() -> None:
            con.execute(f"delete from {table}")
            con.execute(compose_insert(table, "ingest_source", source, query), query_params)
        return run

    def side_by_side() -> None:
        con.execute(f"delete from {checked}")
        con.execute(f"delete from {SCRATCH}.ingest_rejected_lines")
        _read_files(con, files, all_check_params, json_line_by_line=False)

    template = work / "template.duckdb"
    with open_warehouse(template):
        pass  # the schema exists, as in bench/ingest.py's steady state

    def fresh_file(load: Callable[[Path], None]) -> Callable[[], None]:
        def run() -> None:
            target = work / "fresh.duckdb"
            for path in (target, Path(f"{target}.wal")):
                path.unlink(missing_ok=True)
            load(target)
        return run

    def norrut(target: Path) -> None:
        # (copying the empty schema, a few hundred KiB, is within the clock)
        shutil.copyfile(template, target)
        ingest_inbox(target, folder)

    stages = {
        "bare": fresh_file(lambda target: ingest_bench._measure_bare(folder, target)),
        "read, one statement": into("read_fields", f"select {FIELDS} from ingest_source",
                                    params),
        "read+check, one statement": into(checked, check, params | check_params),
        "read+check, a statement a file": side_by_side,
        "read+check to disk, one statement": into(
            "events_on_disk", f"select {FIELDS} from ({check}) where reason is null",
            params | check_params),
        "temp to disk": lambda: (con.execute("delete from events_on_disk"), con.execute(
            f"insert into events_on_disk select {FIELDS} from {checked} where reason is null")),
        "norrut": fresh_file(norrut),
    }
    for name, expression in RULES.items():
        stages[f"rule: {name}"] = lambda expression=expression: con.execute(
            f"create or replace temp table rule_result as select {expression} from read_rows")
    return stages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=20_000, help="simulated persons")
    parser.add_argument("--days", type=int, default=30, help="simulated days")
    parser.add_argument("--seed", type=int, default=7, help="simulation seed")
    parser.add_argument("--files-per-format", type=int, default=4)
    parser.add_argument("--bad-rate", type=float, default=0.001,
                        help="share of bad rows in every text file")
    parser.add_argument("--repeats", type=int, default=5, help="runs per stage (best kept)")
    parser.add_argument("--formats", default="csv,jsonl,parquet,all",
                        help="comma-separated folders of the inbox: formats and all (the whole "
                        "inbox, its truncated gzip left out of the stages but not of norrut)")
    args = parser.parse_args()

    import ingest as ingest_bench

    with tempfile.TemporaryDirectory(prefix="norrut-bench-stages-") as folder:
        work = Path(folder)
        ingest_bench._simulate(work / "world", args, args.bad_rate)
        targets = ingest_bench._lay_out_inbox(work / "world", work / "bench")
        ingest_bench._warm_up_client()
        print(f"{args.persons} persons, {args.days} days, bad rate {args.bad_rate:g}; "
              f"{os.cpu_count()} cores; load before {ingest_bench._load()}")
        for file_format in args.formats.split(","):
            target = targets[file_format]
            stage_work = work / f"stages-{file_format}"
            stage_work.mkdir()
            seconds: dict[str, list[float]] = {}
            with ExitStack() as scratch:
                stages = _stages(target.folder, stage_work, scratch)
                names = list(stages)
                for repeat in range(args.repeats):
                    turn = repeat % len(names)
                    for name in names[turn:] + names[:turn]:
                        started = time.perf_counter()
                        stages[name]()
                        seconds.setdefault(name, []).append(time.perf_counter() - started)
            bare = _best(seconds["bare"])
            print(f"\n{file_format}: {target.files} files, {target.rows:,} rows, "
                  f"{target.bad_rows:,} bad; best of {args.repeats}; load {ingest_bench._load()}")
            print(f"  {'stage':36} {'seconds':>8} {'/ bare':>7} {'rows/s':>11}")
            for name in names:
                best = _best(seconds[name])
                print(f"  {name:36} {best:8.2f} {best / bare:7.2f} {target.rows / best:11,.0f}")


if __name__ == "__main__":
    main()
