"""Benchmark: the pipeline's steps on shards (ingest, opt-outs, the feature build, training,
scoring, the export) on one simulated world, four ways in one run: the single-machine warehouse,
a sharded warehouse with its shards run in the command's process, and the same on a Dask
LocalCluster of 1 and of 2 worker processes sharing the machine's cores (`local:N`: each task
slot a core, a shard task's DuckDB one thread).

Each way runs in a fresh process, so its peak RSS is its own; a worker's peak RSS is read from
the worker at the end. The opt-out step includes rewriting the files (every shard's, then the
main file's), as the optout job does; the features, the model (trained and promoted), the
scores and the default segments' files are for the day after the newest event. Scoring runs
twice, "score" then "rescore" on the same workers: the first includes a fresh worker process's
first import of LightGBM (once per worker on a running cluster, at every command with local:N).
On a 2-core machine no speed-up is expected: the figures are the overhead of sharding and of
Dask, as ratios to the single machine, and the memory per worker. With --persons-per-shard, the
world grows with the shard count (fixed shard size), to show a worker's memory stays flat as
shards are added. --world reuses a world `norrut simulate --faults` made before.

    .venv/bin/python bench/scale.py [--persons 20000] [--days 30] [--shards 4] [--repeats 1]
    .venv/bin/python bench/scale.py --persons-per-shard 5000 --shards 2 4 8
    .venv/bin/python bench/scale.py --world /tmp/world-250k --shards 4 --steps ingest
    .venv/bin/python bench/scale.py --world /tmp/world-1e8 --steps score rescore export \
        --champion-home /tmp/home-1e7   # its champion: 1e8 persons do not train on one machine
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WAYS = ("single", "shards-here", "dask-1", "dask-2")
# ingest, opt-outs and the feature build always run (the later steps need them)
# "rescore" scores the same date again on the same workers: a running cluster's steady state,
# where "score" includes a fresh worker's first import of LightGBM
STEPS = ("ingest", "optout", "features", "train", "score", "rescore", "export")

ONE_WAY = """
import json, resource, sys, time
from pathlib import Path

def main():
    from core.engine import dask_client, engine_from, run_here, runner_on
    from features.build import build_features
    from features.settings import FeatureSettings
    from features.sharded import build_on_shards
    from warehouse.as_of import resolve_as_of
    from warehouse.compaction import compact_warehouse
    from warehouse.ingest.loading import ingest_inbox
    from warehouse.optout import apply_optouts
    from warehouse.shards import create_shards, read_layout
    from activation.export_run import export
    from activation.scoring import score
    from activation.settings import ExportSettings, ScoreSettings
    from models.settings import TrainSettings
    from models.training import train

    way, world, folder, shards = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
    chosen = sys.argv[5].split(",")
    train_options = json.loads(sys.argv[6])
    champion_home = sys.argv[7]
    warehouse = folder / "warehouse.duckdb"  # the home's (core/home.py)
    home = {"home": str(folder)}
    result = {}
    if way != "single":
        create_shards(warehouse, shards)
    if champion_home:  # its registry, the champion's artifacts read where they are
        import shutil
        shutil.copytree(Path(champion_home) / "mlflow", folder / "mlflow")

    def steps(runner):
        started = time.perf_counter()
        report = ingest_inbox(warehouse, world / "inbox", shard_runner=runner)
        result["ingest_seconds"] = time.perf_counter() - started
        result["rows"] = sum(file.rows_read for file in report.files)
        started = time.perf_counter()
        apply_optouts(warehouse, world / "optouts.csv", shard_runner=runner)
        compact_warehouse(warehouse)  # as the optout job does, after every shard's own
        result["optout_seconds"] = time.perf_counter() - started
        as_of = resolve_as_of(warehouse, None)
        started = time.perf_counter()
        layout = read_layout(warehouse)
        if layout is None:
            built = build_features(warehouse, as_of, FeatureSettings())
        else:
            built = build_on_shards(warehouse, layout, as_of, FeatureSettings(),
                                    runner or run_here)
        result["features_seconds"] = time.perf_counter() - started
        result["persons"] = built.persons
        # the model chain, on the same date: train (and promote), score everyone, export
        for step, job, settings, options in (("train", train, TrainSettings, train_options),
                                             ("score", score, ScoreSettings, {}),
                                             ("rescore", score, ScoreSettings, {}),
                                             ("export", export, ExportSettings, {})):
            if step in chosen:
                started = time.perf_counter()
                job(settings(**home, **options, as_of=as_of), shard_runner=runner)
                result[f"{step}_seconds"] = time.perf_counter() - started

    if way.startswith("dask-"):
        workers = int(way.removeprefix("dask-"))
        with dask_client(engine_from(f"local:{workers}")) as client:
            steps(runner_on(client))
            peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
            result["worker_peak_rss_mib"] = max(peaks.values()) / 1024
    else:
        steps(None)
    result["main_peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))

if __name__ == "__main__":
    main()
"""


def _simulate(folder: Path, persons: int, days: int) -> Path:
    world = folder / f"world-{persons}"
    subprocess.run([str(Path(sys.executable).with_name("norrut")), "simulate", str(world),
                    "--persons", str(persons), "--days", str(days), "--faults"],
                   cwd=ROOT, check=True, capture_output=True)
    return world


def _one_way(way: str, world: Path, shards: int, steps: tuple[str, ...],
             train_options: dict[str, int], champion_home: Path | None) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"norrut-scale-{way}-") as folder:
        script = Path(folder) / "one_way.py"
        script.write_text(ONE_WAY, encoding="utf-8")
        env = os.environ | {"PYTHONPATH": str(ROOT)}
        env.pop("NORRUT_DASK_SCHEDULER", None)
        env.pop("MLFLOW_TRACKING_URI", None)
        done = subprocess.run([sys.executable, str(script), way, str(world), folder, str(shards),
                               ",".join(steps), json.dumps(train_options),
                               "" if champion_home is None else str(champion_home)],
                              cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            # a negative code is the signal that killed it (-9: most often out of memory)
            raise SystemExit(f"{way} failed with exit code {done.returncode}:\n"
                             f"{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])


def _load() -> str:
    return "/".join(f"{value:.1f}" for value in os.getloadavg())


def _measure(world: Path, shards: int, repeats: int, steps: tuple[str, ...],
             ways: tuple[str, ...], train_options: dict[str, int],
             champion_home: Path | None) -> None:
    runs: dict[str, list[dict]] = {way: [] for way in ways}
    for _ in range(repeats):
        for way in ways:  # side by side, in turn, so a change in load touches every way
            runs[way].append(_one_way(way, world, shards, steps, train_options, champion_home))
            # each run as it ends: a long run cut short keeps what it measured
            print(f"# {way} (load {_load()}): {json.dumps(runs[way][-1])}", flush=True)

    def median(way: str, step: str) -> float:
        return statistics.median(run[f"{step}_seconds"] for run in runs[way])

    rows, persons = runs["single"][0]["rows"], runs["single"][0]["persons"]
    print(f"\n{world.name}: {rows:,} rows, {persons:,} persons with features, {shards} shards, "
          f"medians of {repeats}, load {_load()}"
          + "".join(f", {name} {value}" for name, value in train_options.items()))
    header = "".join(f" {step + ' s':>11} {'x single':>8}" for step in steps)
    print(f"{'way':<12}{header} {'ingest rows/s':>13} {'main RSS':>9} {'worker RSS':>11}")
    for way in ways:
        figures = "".join(f" {median(way, step):11.2f} {median(way, step) / median('single', step):8.2f}"
                          for step in steps)
        main_rss = max(run["main_peak_rss_mib"] for run in runs[way])
        worker_rss = max((run.get("worker_peak_rss_mib", 0) for run in runs[way]), default=0)
        worker = f"{worker_rss:8.0f}Mi" if worker_rss else f"{'-':>10}"
        print(f"{way:<12}{figures} {rows / median(way, 'ingest'):13,.0f} {main_rss:7.0f}Mi "
              f"{worker:>11}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--shards", type=int, nargs="+", default=[4])
    parser.add_argument("--persons-per-shard", type=int, default=None,
                        help="grow the world with the shard count: this many persons a shard")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--steps", nargs="+", choices=STEPS, default=list(STEPS),
                        help="the steps measured (ingest, optout and features always run)")
    parser.add_argument("--world", type=Path, default=None,
                        help="a world made by `norrut simulate --faults` (not simulated again)")
    parser.add_argument("--ways", nargs="+", choices=WAYS, default=list(WAYS),
                        help="the ways measured (the single machine always runs: the ratios' base)")
    parser.add_argument("--train-snapshots", type=int, default=None,
                        help="training snapshots (default: TrainSettings'); fewer keep a big "
                             "world's training set in this machine's memory")
    parser.add_argument("--champion-home", type=Path, default=None,
                        help="score and export with this home's champion instead of training "
                             "one (a world too big to train on one machine: leave out train)")
    args = parser.parse_args()
    train_options = ({} if args.train_snapshots is None
                     else {"n_training_snapshots": args.train_snapshots})
    ways = tuple(way for way in WAYS if way in {"single", *args.ways})
    steps = tuple(step for step in STEPS if step in {"ingest", "optout", "features", *args.steps})
    print(f"machine: {os.cpu_count()} cores, load {_load()}")
    with tempfile.TemporaryDirectory(prefix="norrut-scale-") as folder:
        for shards in args.shards:
            if args.world is not None:
                _measure(args.world, shards, args.repeats, steps, ways, train_options,
                         args.champion_home)
                continue
            persons = (args.persons if args.persons_per_shard is None
                       else args.persons_per_shard * shards)
            world = _simulate(Path(folder), persons, args.days)
            _measure(world, shards, args.repeats, steps, ways, train_options, args.champion_home)


if __name__ == "__main__":
    main()
