"""Benchmark: a command's own start-up, with no Prefect server configured.

Times, as subprocess wall clock, median of --runs runs each:
1. `norrut ingest` of an empty inbox in a fresh Norrut home (the job runs directly: no Prefect),
   with the job's own seconds from its summary, so the start-up is the wall time less the job's;
2. `norrut status` of that home (a read; it never was a flow run);
3. for comparison, the same ingest as a Prefect flow run on the temporary server, the way
   `norrut pipeline` runs (and every command ran before): `flows.run.run_flow(ingest, ...)` in a
   process that imports the CLI first, as `norrut` does. One warm-up run first migrates the
   Prefect database, so the figures are a later run's, not the first one's (the first is shown).
Every PREFECT_* variable is removed from the environment; the flow runs' PREFECT_HOME is a
temporary folder. Prints the figures, their ratios, the goal (<= 1.5 s) and the machine load
(`uptime`) before and after.

    .venv/bin/python bench/cli.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NORRUT = str(Path(sys.executable).with_name("norrut"))
GOAL_SECONDS = 1.5
FLOW_RUN_OF_INGEST = """
import sys
from norrut.cli.app import build_app
build_app()
from flows.ingest import ingest
from flows.run import run_flow
from warehouse.settings import IngestSettings
report = run_flow(ingest, IngestSettings(inbox=sys.argv[1]), quiet=True)
print(f"seconds {report.seconds:.3f}")
"""
# The ingest summary's own time: the table row `seconds`, or the flow script's line.
JOB_SECONDS = re.compile(r"(?m)^\W*seconds\W+([0-9.]+)")


def _environment(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    env.update(PREFECT_SERVER_ANALYTICS_ENABLED="false", COLUMNS="120", **extra)
    return env


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, float | None]:
    """Wall seconds of the command, and the job's own seconds when it printed them."""
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True,
                          check=False, timeout=600)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    own = JOB_SECONDS.search(done.stdout)
    return wall, float(own.group(1)) if own else None


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def _line(label: str, walls: list[float], owns: list[float | None]) -> float:
    wall = statistics.median(walls)
    text = f"{label:<44} {wall:6.2f} s wall (runs: {', '.join(f'{w:.2f}' for w in walls)})"
    if all(own is not None for own in owns):
        own = statistics.median(owns)
        text += f"; job's own {own:.2f} s, start-up {wall - own:.2f} s"
    print(text)
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    print(f"machine before: {_uptime()}")
    with tempfile.TemporaryDirectory(prefix="norrut-bench-cli-") as scratch:
        scratch = Path(scratch)
        inbox = scratch / "inbox"
        inbox.mkdir()
        results: dict[str, tuple[list[float], list[float | None]]] = {
            "ingest": ([], []), "status": ([], []), "flow": ([], [])}
        for run in range(runs):
            env = _environment(NORRUT_HOME=str(scratch / f"home-{run}"))
            for name, command in (("ingest", [NORRUT, "ingest", str(inbox)]),
                                  ("status", [NORRUT, "status"])):
                wall, own = _timed(command, env)
                results[name][0].append(wall)
                results[name][1].append(own)
        prefect_home = str(scratch / "prefect")
        flow = [sys.executable, "-c", FLOW_RUN_OF_INGEST, str(inbox)]
        first_flow, _ = _timed(flow, _environment(NORRUT_HOME=str(scratch / "flow-warm-up"),
                                                  PREFECT_HOME=prefect_home))
        for run in range(runs):
            wall, own = _timed(flow, _environment(NORRUT_HOME=str(scratch / f"flow-{run}"),
                                                  PREFECT_HOME=prefect_home))
            results["flow"][0].append(wall)
            results["flow"][1].append(own)
    print(f"\nmedian of {runs} runs, no Prefect server configured (goal: <= {GOAL_SECONDS} s)")
    ingest = _line("norrut ingest, empty inbox, fresh home", *results["ingest"])
    status = _line("norrut status", *results["status"])
    flow = _line("the same ingest as a flow run (temporary server)", *results["flow"])
    print(f"{'  its first run, migrating a new Prefect db':<44} {first_flow:6.2f} s wall")
    print(f"\nflow run / direct ingest: {flow / ingest:.1f}x; "
          f"ingest {'meets' if ingest <= GOAL_SECONDS else 'misses'} the goal, "
          f"status {'meets' if status <= GOAL_SECONDS else 'misses'} it")
    print(f"machine after:  {_uptime()}")


if __name__ == "__main__":
    main()
