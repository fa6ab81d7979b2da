"""Benchmark: how fast `norrut simulate` writes a world, and its peak memory.

Runs the simulator in a child process (so its peak RSS is its own), then a bare baseline in
another child: the same number of random rows in the same 13 contract columns, written as one
Parquet file with Polars, no behaviour and no formatting. Prints the figures and writes
bench/results/simulate.md.

    uv run --locked python bench/simulate.py [--persons 50000] [--days 90] [--no-faults]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SIMULATE = """
import json, sys, time
from pathlib import Path
from simulator.world import WorldSettings, simulate_world
started = time.perf_counter()
summary = simulate_world(Path(sys.argv[1]), WorldSettings(
    persons=int(sys.argv[2]), days=int(sys.argv[3]), faults=sys.argv[4] == "1"))
print(json.dumps({"seconds": time.perf_counter() - started, "counts": summary["counts"]}))
"""

BASELINE = """
import json, sys, time
import numpy as np, polars as pl
rows = int(sys.argv[2])
started = time.perf_counter()
rng = np.random.default_rng(0)
ids = rng.integers(0, 2**62, rows)
frame = pl.DataFrame({
    "event_id": pl.Series(ids).cast(pl.String), "occurred_at": rng.integers(0, 2**40, rows),
    "person_id": pl.Series(rng.integers(0, 2**62, rows)).cast(pl.String),
    "id_type": rng.integers(0, 3, rows), "event_type": rng.integers(0, 12, rows),
    "content_id": rng.integers(0, 150, rows), "campaign_id": rng.integers(0, 36, rows),
    "channel": rng.integers(0, 12, rows), "watch_seconds": rng.random(rows),
    "region": rng.integers(0, 24, rows), "device": rng.integers(0, 5, rows),
    "consent": rng.random(rows) < 0.98, "municipality": rng.integers(0, 21, rows)})
frame.write_parquet(sys.argv[1] + "/baseline.parquet")
print(json.dumps({"seconds": time.perf_counter() - started}))
"""


def _run_child(code: str, *args: str) -> tuple[dict, float, float, float]:
    """(printed JSON, wall seconds incl. interpreter start, peak RSS MiB, CPU seconds) of a
    child process."""
    usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    before = usage_before.ru_maxrss
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, check=True,
                               capture_output=True, text=True)
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_kib = usage.ru_maxrss
    cpu = (usage.ru_utime + usage.ru_stime) - (usage_before.ru_utime + usage_before.ru_stime)
    # ru_maxrss of children is the maximum over all children so far; each run here is bigger
    # than the interpreter alone, so a smaller later child is reported as its own start size.
    return (json.loads(completed.stdout.strip().splitlines()[-1]), wall,
            max(peak_kib, before) / 1024, cpu)


def _oracle_quality(world: Path) -> dict[str, float]:
    """How well the true probabilities rank the realised 14-day outcomes after the data ends:
    the ceiling any model trained on this world can reach."""
    from datetime import date, timedelta

    import numpy as np
    from sklearn.metrics import roc_auc_score

    from simulator.truth import realised_intent, true_intent_probability

    end = date.fromisoformat(json.loads((world / "world.json").read_text())["arguments"]["end"])
    as_of = end + timedelta(days=1)
    truth = true_intent_probability(world, as_of)["true_probability"].to_numpy()
    realised = realised_intent(world, as_of)["had_intent"].to_numpy()
    top_decile = np.argsort(-truth)[: len(truth) // 10]
    return {"as_of": as_of.isoformat(), "base_rate": float(realised.mean()),
            "mean_true_probability": float(truth.mean()),
            "roc_auc": float(roc_auc_score(realised, truth)),
            "lift_top_decile": float(realised[top_decile].mean() / realised.mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=50_000, help="persons in the world")
    parser.add_argument("--days", type=int, default=90, help="days of events")
    parser.add_argument("--no-faults", action="store_true", help="simulate without --faults")
    parser.add_argument("--write", default=str(ROOT / "bench" / "results" / "simulate.md"),
                        help="markdown file for the figures")
    options = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="norrut-bench-simulate-"))
    try:
        load_before = os.getloadavg()
        result, wall, peak, cpu = _run_child(SIMULATE, str(workdir / "world"), str(options.persons),
                                        str(options.days), "0" if options.no_faults else "1")
        inbox_bytes = sum(p.stat().st_size for p in (workdir / "world" / "inbox").iterdir())
        oracle = _oracle_quality(workdir / "world")
        baseline, _, _, baseline_cpu = _run_child(BASELINE, str(workdir),
                                                str(result["counts"]["events"]))
        load_after = os.getloadavg()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    events = result["counts"]["events"]
    lines = [
        "# Simulator benchmark (`bench/simulate.py`)",
        "",
        (f"Machine: {os.cpu_count()} cores, "
         f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
         f"{platform.platform()}, Python {platform.python_version()}; other engineers were "
         f"running work on the machine at the same time."),
        (f"Load average before: {tuple(round(x, 2) for x in load_before)}, "
         f"after: {tuple(round(x, 2) for x in load_after)}"),
        "",
        (f"World: {options.persons:,} persons, {options.days} days, "
         f"faults={'no' if options.no_faults else 'yes'}: {events:,} events, "
         f"{result['counts']['inbox_files']} inbox files, {inbox_bytes / 2**20:.0f} MiB."),
        "",
        "| figure | value |",
        "|---|---|",
        f"| simulate_world seconds (in process) | {result['seconds']:.1f} |",
        f"| wall seconds incl. interpreter start | {wall:.1f} |",
        f"| CPU seconds of the child (user + system, incl. start) | {cpu:.1f} |",
        f"| events per second | {events / result['seconds']:,.0f} |",
        f"| peak RSS of the simulating process | {peak:,.0f} MiB |",
        f"| bare baseline: same rows random, one Parquet file | {baseline['seconds']:.1f} s |",
        (f"| ratio simulate / bare baseline (seconds) | "
        f"{result['seconds'] / baseline['seconds']:.1f}x |"),
        f"| ratio simulate / bare baseline (CPU seconds) | {cpu / baseline_cpu:.1f}x |",
        "",
        "Goal: the default world in under a minute on 2 cores.",
        "",
        (f"Truth as a model (the ceiling for any model), 14-day window from {oracle['as_of']}: "
        f"realised positive rate {oracle['base_rate']:.2%}, mean true probability "
        f"{oracle['mean_true_probability']:.2%}, ROC AUC {oracle['roc_auc']:.3f}, "
        f"top-decile lift {oracle['lift_top_decile']:.2f}."),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    Path(options.write).parent.mkdir(parents=True, exist_ok=True)
    Path(options.write).write_text(text)


if __name__ == "__main__":
    main()
