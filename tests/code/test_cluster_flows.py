"""Flow runs on a real Dask cluster (a scheduler and two worker processes on localhost) and a
real Prefect server: the flows take prefect-dask's DaskTaskRunner, each shard's share of a step
is a task run of its own named after the step and the shard, a busy shard waits rather than
fails, and the results equal the direct run's."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import date

import duckdb
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterId,
    LogFilter,
    LogFilterTaskRunId,
)
from typer.testing import CliRunner

from core.engine import local_cluster
from flows import cluster
from norrut.cli.app import build_app
from simulator.world import WorldSettings, simulate_world
from tests.cluster import dask_cluster
from warehouse.shards import read_layout

SHARDS = 4
AS_OF = date(2026, 10, 30)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cluster-flow-world") / "world"
    simulate_world(folder, WorldSettings(persons=600, days=10, seed=11, faults=True,
                                         files_per_format=1))
    return folder


@pytest.fixture(scope="module")
def cluster_address(tmp_path_factory):
    with dask_cluster(tmp_path_factory.mktemp("dask")) as address:
        yield address


@pytest.mark.parametrize(("value", "runner_kind", "options"), [
    ("", "ThreadPoolTaskRunner", None),
    ("local:2", "DaskTaskRunner", {"n_workers": 2,
                                   "threads_per_worker": max(1, (os.cpu_count() or 1) // 2),
                                   "processes": True, "dashboard_address": None,
                                   "env": dict.fromkeys(
                                       ("OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                        "OPENBLAS_NUM_THREADS"),
                                       str(max(1, (os.cpu_count() or 1) // 2))),
                                   "preload": ["core.worker_warmup"]}),
    ("tcp://scheduler:8786", "DaskTaskRunner", None),
])
def test_the_flows_task_runner_follows_the_scheduler_setting(value, runner_kind, options,
                                                             monkeypatch):
    # given $NORRUT_DASK_SCHEDULER when a flow run starts (Prefect duplicates its task runner)
    monkeypatch.setenv("NORRUT_DASK_SCHEDULER", value)
    runner = cluster.EngineTaskRunner().duplicate()
    # then the run's task runner is the engine's: nothing is started until the run enters it
    assert type(runner).__name__ == runner_kind
    if value.startswith("tcp://"):
        assert runner.address == value
    if options is not None:
        assert runner.cluster_class is local_cluster
        assert runner.cluster_kwargs == options


def _norrut(*args: str):
    result = CliRunner().invoke(build_app(), list(args))
    assert result.exit_code == 0, result.output
    return result


def _rows(path, query: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(query).fetchall()


def _sharded_rows(warehouse_path, query: str) -> list[tuple]:
    rows = []
    for path in read_layout(warehouse_path).shard_paths():
        rows += _rows(path, query)
    return sorted(rows, key=repr)


def _task_runs_of_last(flow_name: str) -> list:
    """The task runs of the newest flow run of `flow_name`."""
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])))
        newest = max(runs, key=lambda run: run.created)
        assert newest.state.is_completed(), newest.state
        return client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[newest.id])))


def _shard_runs(task_runs: list, step: str) -> dict[str, object]:
    return {run.name: run for run in task_runs if run.name.startswith(f"{step}-shard-")}


@pytest.fixture(scope="module")
def single_machine(world, tmp_path_factory):
    """The same world ingested and its features built directly, on one machine."""
    root = tmp_path_factory.mktemp("single")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NORRUT_HOME", str(root))
        patch.delenv("PREFECT_API_URL", raising=False)
        patch.delenv("NORRUT_DASK_SCHEDULER", raising=False)
        _norrut("ingest", str(world / "inbox"), "--catalog", str(world / "catalog.csv"))
        _norrut("features", "build", "--as-of", AS_OF.isoformat())
    return root / "warehouse.duckdb"


def test_flow_runs_on_the_cluster_are_one_task_run_per_shard_and_equal_one_machine(
        world, single_machine, cluster_address, prefect_harness, home, monkeypatch):
    # given a home sharded in 4, a Prefect server and a two-worker cluster configured
    _norrut("shards", "create", "--count", str(SHARDS))
    monkeypatch.setenv("PREFECT_API_URL", prefect_harness)
    monkeypatch.setenv("NORRUT_DASK_SCHEDULER", cluster_address)
    # when the inbox is ingested and the features built, as flow runs
    _norrut("ingest", str(world / "inbox"), "--catalog", str(world / "catalog.csv"))
    ingest_runs = _shard_runs(_task_runs_of_last("ingest"), "ingest-inbox")
    _norrut("features", "build", "--as-of", AS_OF.isoformat())
    feature_runs = _shard_runs(_task_runs_of_last("build-features"), "build-features")
    # then each shard's share of the feature build is one completed task run, named by shard
    assert sorted(feature_runs) == [f"build-features-shard-{n:03d}" for n in range(SHARDS)]
    assert all(run.state.is_completed() for run in feature_runs.values())
    # and the ingest's shards ran as task runs too (one per shard with rows, per batch)
    assert {name.rsplit("-", 1)[1] for name in ingest_runs} == {f"{n:03d}" for n in range(SHARDS)}
    # and the events and features equal the single machine's
    warehouse = home.warehouse_path
    assert _sharded_rows(warehouse, "select * from raw.events") == sorted(
        _rows(single_machine, "select * from raw.events"), key=repr)
    assert _sharded_rows(warehouse, "select * from features.person_features") == sorted(
        _rows(single_machine, "select * from features.person_features"), key=repr)


def test_a_busy_shard_waits_for_its_writer_then_builds(
        world, single_machine, cluster_address, prefect_harness, home, monkeypatch):
    # given a sharded home with the world ingested, on the cluster, as flow runs
    _norrut("shards", "create", "--count", str(SHARDS))
    monkeypatch.setenv("PREFECT_API_URL", prefect_harness)
    monkeypatch.setenv("NORRUT_DASK_SCHEDULER", cluster_address)
    monkeypatch.setattr(cluster, "SHARD_BUSY_RETRY_SECONDS", 1.0)
    _norrut("ingest", str(world / "inbox"), "--catalog", str(world / "catalog.csv"))
    # and another process holding shard 1's file for a few seconds
    busy_path = read_layout(home.warehouse_path).shard_path(1)
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time, duckdb
        con = duckdb.connect({str(busy_path)!r})
        print("holding", flush=True)
        time.sleep(6)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        # when the features are built as a flow run
        _norrut("features", "build", "--as-of", AS_OF.isoformat())
    finally:
        holder.wait(timeout=30)
        holder.stdout.close()
    # then the busy shard's task run waited (it ran again after AwaitingRetry), and succeeded
    busy = _shard_runs(_task_runs_of_last("build-features"), "build-features")[
        "build-features-shard-001"]
    assert busy.state.is_completed() and busy.run_count > 1
    with get_client(sync_client=True) as client:
        states = client.read_task_run_states(busy.id)
        logs = client.read_logs(log_filter=LogFilter(
            task_run_id=LogFilterTaskRunId(any_=[busy.id])))
    assert "AwaitingRetry" in {state.name for state in states}
    assert any("shard-001 is busy: another process holds" in log.message for log in logs)
    # and the features equal the single machine's
    assert _sharded_rows(home.warehouse_path, "select * from features.person_features") == sorted(
        _rows(single_machine, "select * from features.person_features"), key=repr)


def test_with_local_workers_a_flow_run_starts_its_own_cluster_for_the_shards(
        world, single_machine, prefect_harness, home, monkeypatch):
    # given a sharded home loaded directly, and a Prefect server
    _norrut("shards", "create", "--count", str(SHARDS))
    _norrut("ingest", str(world / "inbox"), "--catalog", str(world / "catalog.csv"))
    monkeypatch.setenv("PREFECT_API_URL", prefect_harness)
    # when the features are built as a flow run with NORRUT_DASK_SCHEDULER=local:2
    monkeypatch.setenv("NORRUT_DASK_SCHEDULER", "local:2")
    _norrut("features", "build", "--as-of", AS_OF.isoformat())
    # then its LocalCluster ran one task run per shard, and the features are one machine's
    feature_runs = _shard_runs(_task_runs_of_last("build-features"), "build-features")
    assert sorted(feature_runs) == [f"build-features-shard-{n:03d}" for n in range(SHARDS)]
    assert _sharded_rows(home.warehouse_path, "select * from features.person_features") == sorted(
        _rows(single_machine, "select * from features.person_features"), key=repr)
