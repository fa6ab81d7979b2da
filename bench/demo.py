"""Benchmark: the `make demo` pipeline end to end, and the share of it spent in Prefect.

Runs the same chain twice on the same simulated world, each time into a fresh home:
  1. the plain functions called directly, each one timed;
  2. the `pipeline` flow on Prefect's temporary server, as `norrut pipeline` runs it.
Prefect's overhead is reported two ways: inside the flow run (run time minus its task runs'
own time), and against the direct calls. The temporary server's start is reported apart: it
is paid once per CLI process, not per run.

    uv run --locked python bench/demo.py [--persons 50000] [--days 90]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
OUT = REPO_ROOT / "bench" / "out" / "demo"


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def run_direct(world: Path, home_root: Path) -> dict[str, float]:
    """The chain as plain calls of each stage's job function; seconds per step."""
    from activation.export_run import export
    from activation.scoring import score
    from features.job import build
    from flows.settings import PipelineSettings
    from models.training import train
    from warehouse.as_of import resolve_as_of
    from warehouse.ingest import ingest

    chain = PipelineSettings(home=str(home_root), inbox=str(world / "inbox"),
                             catalog=str(world / "catalog.csv"))
    home = chain.norrut_home().ensure()
    seconds: dict[str, float] = {}

    def timed(step: str, call):
        started = time.perf_counter()
        value = call()
        seconds[step] = time.perf_counter() - started
        return value

    timed("ingest", lambda: ingest(chain.ingest_settings()))
    as_of = timed("resolve as-of", lambda: resolve_as_of(home.warehouse_path, None))
    timed("features", lambda: build(chain.feature_settings(as_of)))
    timed("train", lambda: train(chain.train_settings(as_of)))
    steps = chain.score_and_export_settings(as_of)
    timed("score", lambda: score(steps.score_settings(as_of)))
    timed("export", lambda: export(steps.export_settings(as_of)))
    return seconds


def run_flow(world: Path, home_root: Path) -> dict[str, float]:
    """The pipeline flow on a temporary server; wall, run and task seconds from Prefect."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from flows.pipeline import pipeline
    from flows.settings import PipelineSettings

    started = time.perf_counter()
    state = pipeline(PipelineSettings(home=str(home_root), inbox=str(world / "inbox"),
                                      catalog=str(world / "catalog.csv")), return_state=True)
    wall = time.perf_counter() - started
    if not state.is_completed():
        raise SystemExit(f"the pipeline flow failed: {state.message}")
    run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
        tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))
    task_seconds = {t.name.rsplit("-", 1)[0]: t.total_run_time.total_seconds() for t in tasks}
    return {
        "wall": wall,
        "run": (run.end_time - run.start_time).total_seconds(),
        "tasks": sum(task_seconds.values()),
        **{f"task {name}": value for name, value in sorted(task_seconds.items())},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=50_000, help="simulated persons")
    parser.add_argument("--days", type=int, default=90, help="days of events")
    args = parser.parse_args()

    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ.pop("PREFECT_API_URL", None)
    os.environ["PREFECT_HOME"] = str(OUT / "prefect")
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)

    from simulator.world import WorldSettings, simulate_world

    print(f"machine: {os.cpu_count()} cores, {platform.python_version()}; "
          f"load average before: {_load()}")
    world = OUT / "world"
    started = time.perf_counter()
    simulate_world(world, WorldSettings(persons=args.persons, days=args.days, faults=True))
    print(f"simulate {args.persons:,} persons x {args.days} days with faults: "
          f"{time.perf_counter() - started:.1f} s")

    direct = run_direct(world, OUT / "home-direct")
    direct_total = sum(direct.values())
    print("\nplain functions called directly:")
    for step, seconds in direct.items():
        print(f"  {step:<14} {seconds:7.1f} s")
    print(f"  {'total':<14} {direct_total:7.1f} s   (load average: {_load()})")

    flow = run_flow(world, OUT / "home-flow")
    server_start = flow["wall"] - flow["run"]
    inside = flow["run"] - flow["tasks"]
    print("\npipeline flow on Prefect's temporary server:")
    for name, seconds in flow.items():
        if name.startswith("task "):
            print(f"  {name:<30} {seconds:7.1f} s")
    print(f"  {'sum of task runs':<30} {flow['tasks']:7.1f} s")
    print(f"  {'flow run, start to end':<30} {flow['run']:7.1f} s")
    print(f"  {'whole call (with server start)':<30} {flow['wall']:7.1f} s   "
          f"(load average: {_load()})")
    print("\nPrefect overhead:")
    print(f"  inside the run (run - tasks):     {inside:5.1f} s = {100 * inside / flow['run']:.1f} %"
          " of the run")
    print(f"  run vs direct calls:              {flow['run'] - direct_total:5.1f} s = "
          f"{100 * (flow['run'] - direct_total) / direct_total:.1f} % of the direct time")
    print(f"  temporary server start (per CLI): {server_start:5.1f} s")
    print(f"load average after: {_load()}")


if __name__ == "__main__":
    main()
