"""The jobs that read events and features after scoring (the monitor, the creative report, the
lift) on a warehouse of 4 shards, on a real Dask cluster (a scheduler and two worker processes on
localhost), give exactly the single machine's rows; an opted-out person leaves the backtest.

The scores are made on a single-machine twin loaded from the same inbox (trained, scored and
exported there, in one MLflow both homes use) and its scoring run copied into the sharded main
warehouse: what scoring on shards leaves there by contract."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from activation.definitions import parse_segments
from activation.export_run import SegmentsToExport, export_segments
from activation.lift import measure_lift
from activation.scoring import score_persons
from activation.settings import LiftSettings
from core.engine import dask_client, engine_from, runner_on
from core.home import NorrutHome
from features.build import build_features
from flows.direct import DirectRun
from flows.jobs import creatives_job, lift_job, monitor_job
from insight.creatives import measure_creatives
from insight.settings import CreativesSettings
from models.settings import TrainSettings
from models.training import train_model
from monitoring.health import ModelHealthAlarm, monitor
from monitoring.settings import MonitorSettings
from simulator.world import WorldSettings, simulate_world
from tests.cluster import dask_cluster
from warehouse.ingest.loading import ingest_inbox
from warehouse.optout import apply_optouts
from warehouse.shards import create_shards, read_layout

pytestmark = pytest.mark.slow

SHARDS = 4
# 2,000 persons over 60 days (to 2026-11-01): enough intent to train on and to backtest
WORLD = WorldSettings(persons=2000, days=60, seed=11, files_per_format=1)
HORIZON_DAYS = 14
SCORED_ON = date(2026, 10, 19)  # its 14-day horizon ends with the world's last day: matured
REPORTED_ON = date(2026, 11, 2)
MEASURED_AT = datetime(2026, 11, 3, 6, 0, tzinfo=UTC)
SEGMENTS = {
    "min_audience_size": 20,
    "holdout_fraction": 0.25,
    "destinations": ["generic", "meta"],
    "segments": [
        {"name": "everyone", "description": "All scored persons.", "select": {"min_score": 0}},
    ],
}
# what scoring and the export leave in the main warehouse, copied from the twin
SCORING_TABLES = ("marts.person_scores", "marts.scores_runs", "marts.segment_holdouts")
MONITOR_TABLES = ("marts.backtest_deciles", "marts.feature_drift", "marts.model_health_runs")
CREATIVE_QUERIES = ("select * from marts.creative_report order by all",
                    "select * exclude (created_at) from marts.creative_report_runs order by all")
BACKTEST_TOTALS = "select sum(persons), sum(persons_with_intent) from marts.backtest_deciles"
INTENT_TYPES = ("job_click", "signup", "guide_download", "inquiry", "fair_registration")


@dataclass(frozen=True)
class Twins:
    single: NorrutHome
    sharded: NorrutHome
    tracking_uri: str  # the single machine's MLflow, which both use
    address: str       # the scheduler's


@pytest.fixture(scope="module")
def twins(tmp_path_factory) -> Iterator[Twins]:
    root = tmp_path_factory.mktemp("insight-shards")
    world = root / "world"
    simulate_world(world, WORLD)
    single = NorrutHome.resolve(root / "single").ensure()
    ingest_inbox(single.warehouse_path, world / "inbox", world / "catalog.csv")
    train_model(TrainSettings(home=str(single.root), as_of=SCORED_ON, min_positives=30,
                              n_training_snapshots=2, horizon_days=HORIZON_DAYS), single)
    build_features(single.warehouse_path, SCORED_ON)
    score_persons(single.warehouse_path, SCORED_ON, single.mlflow_tracking_uri)
    export_segments(single.warehouse_path, single.exports_dir, SCORED_ON,
                    SegmentsToExport(parse_segments(SEGMENTS)),
                    tracking_uri=single.mlflow_tracking_uri)
    sharded = NorrutHome.resolve(root / "sharded").ensure()
    create_shards(sharded.warehouse_path, SHARDS)
    with dask_cluster(root) as address:
        with dask_client(engine_from(address)) as client:
            ingest_inbox(sharded.warehouse_path, world / "inbox", world / "catalog.csv",
                         shard_runner=runner_on(client))
        _copy_scoring(single.warehouse_path, sharded.warehouse_path)
        yield Twins(single, sharded, single.mlflow_tracking_uri, address)


def _copy_scoring(single: Path, sharded: Path) -> None:
    with duckdb.connect(str(sharded)) as con:
        con.execute(f"attach '{single}' as single (read_only)")
        for table in SCORING_TABLES:
            con.execute(f"insert into {table} select * from single.{table}")
        con.execute("detach single")


def _rows(place: NorrutHome | Path, queries) -> list[list[tuple]]:
    """The queries' rows in a home's main warehouse, or in a shard file."""
    path = place.warehouse_path if isinstance(place, NorrutHome) else place
    with duckdb.connect(str(path), read_only=True) as con:
        return [con.execute(query).fetchall() for query in queries]


def _monitor_rows(home: NorrutHome) -> list[list[tuple]]:
    return _rows(home, [f"select * exclude (measured_at) from {table} order by all"
                        for table in MONITOR_TABLES])


def _monitor(home: NorrutHome, tracking_uri: str) -> None:
    """`norrut monitor` as the command runs it without a Prefect server; an alarm (drift of the
    small world) fails the run after the rows are stored, which is what is compared."""
    try:
        monitor_job(DirectRun("monitor", home, "monitor-test"),
                    MonitorSettings(home=str(home.root), tracking_uri=tracking_uri))
    except ModelHealthAlarm:
        pass


def test_the_monitor_on_shards_stores_the_single_machines_rows(twins, monkeypatch):
    # given the same scoring run in both main warehouses, its horizon's events all loaded
    assert read_layout(twins.sharded.warehouse_path).shard_count == SHARDS
    # when the monitor runs on one machine, and on the cluster for the sharded warehouse
    single = monitor(MonitorSettings(home=str(twins.single.root)))
    monkeypatch.setenv("NORRUT_DASK_SCHEDULER", twins.address)
    _monitor(twins.sharded, twins.tracking_uri)
    # then the backtest, drift and run rows are the same, to the last bit
    (run,) = single.runs
    assert run.matured and run.persons > 0 and run.roc_auc is not None
    assert 0 < run.inactive_30d_share < 1
    deciles, drift, runs = _monitor_rows(twins.sharded)
    assert len(deciles) == 10 and drift and len(runs) == 1
    assert [deciles, drift, runs] == _monitor_rows(twins.single)
    # and the features of the run were built in the shards (the main file holds none)
    features = f"select count(*) from features.person_features where as_of_date = '{SCORED_ON}'"
    assert _rows(twins.sharded, [features]) == [[(0,)]]
    in_shards = sum(_rows(path, [features])[0][0][0]
                    for path in read_layout(twins.sharded.warehouse_path).shard_paths())
    assert in_shards == _rows(twins.single, [features])[0][0][0] > 0


def test_the_creative_report_on_shards_is_the_single_machines(twins, monkeypatch):
    # given a report date whose exposure and intent windows lie in the world
    settings = {"as_of": REPORTED_ON, "min_persons": 20, "tracking_uri": twins.tracking_uri}
    # when the report is made on one machine, and by the job on the cluster
    single = measure_creatives(
        twins.single.warehouse_path, twins.tracking_uri, twins.single.exports_dir,
        CreativesSettings(home=str(twins.single.root), **settings))
    monkeypatch.setenv("NORRUT_DASK_SCHEDULER", twins.address)
    sharded = creatives_job(DirectRun("creatives", twins.sharded, "creatives-test"),
                            CreativesSettings(home=str(twins.sharded.root), **settings))
    # then every stored row is the same, and so is the portal's file
    assert sharded.persons_scored == single.persons_scored > 0
    assert single.ranked("theme").height > 0
    assert _rows(twins.sharded, CREATIVE_QUERIES) == _rows(twins.single, CREATIVE_QUERIES)
    assert sharded.rows.equals(single.rows)


def test_the_lift_on_shards_counts_as_the_single_machine(twins, monkeypatch):
    exports_dir = twins.single.exports_dir
    for destination in ("generic", "meta"):
        # when the lift is measured on one machine, and by the job on the cluster
        single = measure_lift(twins.single.warehouse_path, exports_dir, "everyone", SCORED_ON,
                              destination, campaign=f"single-{destination}",
                              measured_at=MEASURED_AT)
        monkeypatch.setenv("NORRUT_DASK_SCHEDULER", twins.address)
        sharded = lift_job(DirectRun("lift", twins.sharded, "lift-test"), LiftSettings(
            home=str(twins.sharded.root), exports_dir=str(exports_dir), segment="everyone",
            destination=destination, campaign=f"sharded-{destination}"))
        # then the groups, conversions, lift and interval are the same
        assert single.treated.converted > 0 and single.holdout.converted > 0
        assert (sharded.treated, sharded.holdout, sharded.relative_lift,
                sharded.relative_lift_ci95, sharded.start, sharded.end) == (
            single.treated, single.holdout, single.relative_lift, single.relative_lift_ci95,
            single.start, single.end)
        assert (sharded.treated_ids_opted_out, sharded.holdout_unreachable) == (
            single.treated_ids_opted_out, single.holdout_unreachable)


def _task_runs_of_last(flow_name: str, *, completed: bool = True) -> list:
    """The task runs of the newest flow run of `flow_name` (which completed, if `completed`)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterId,
    )

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])))
        newest = max(runs, key=lambda run: run.created)
        assert newest.state.is_completed() or not completed, newest.state
        return client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[newest.id])))


def test_as_flow_runs_on_the_cluster_each_shard_is_a_task_run(twins, prefect_harness,
                                                              monkeypatch):
    # given a Prefect server and the cluster configured, as the *-on-cluster deployments run
    monkeypatch.setenv("PREFECT_API_URL", prefect_harness)
    monkeypatch.setenv("NORRUT_DASK_SCHEDULER", twins.address)
    from flows.creatives import creatives as creatives_flow
    from flows.lift import lift as lift_flow
    from flows.monitor import monitor as monitor_flow

    settings = {"as_of": REPORTED_ON, "min_persons": 20, "tracking_uri": twins.tracking_uri}
    # when the creative report and the lift run as flow runs
    report = creatives_flow(CreativesSettings(home=str(twins.sharded.root), **settings))
    creative_runs = [run.name for run in _task_runs_of_last("creatives")]
    measurement = lift_flow(LiftSettings(
        home=str(twins.sharded.root), exports_dir=str(twins.single.exports_dir),
        segment="everyone", destination="generic", campaign="flow-run"))
    lift_runs = [run.name for run in _task_runs_of_last("lift")]
    try:
        monitor_flow(MonitorSettings(home=str(twins.sharded.root), tracking_uri=twins.tracking_uri))
    except ModelHealthAlarm:
        pass  # the small world's drift: the run fails after its steps, as _monitor says
    monitor_runs = [run.name for run in _task_runs_of_last("monitor", completed=False)]
    # then each shard's share was a task run of its own, named by the step and the shard
    shards = [f"shard-{n:03d}" for n in range(SHARDS)]
    assert sorted(name for name in creative_runs if "-shard-" in name) == [
        f"measure-creatives-{shard}" for shard in shards]
    assert sorted(name for name in lift_runs if "-shard-" in name) == [
        f"measure-lift-{shard}" for shard in shards]
    # (the monitor's shards: once per matured scoring run, and once for its drift)
    monitor_shard_runs = [name for name in monitor_runs if "-shard-" in name]
    assert monitor_shard_runs and {name.rsplit("-", 2)[0] for name in monitor_shard_runs} == {
        "measure-model-health"}
    assert {name.split("-shard-")[1] for name in monitor_shard_runs} == {
        f"{n:03d}" for n in range(SHARDS)}
    # and the results are the direct run's
    direct = measure_creatives(
        twins.single.warehouse_path, twins.tracking_uri, twins.single.exports_dir,
        CreativesSettings(home=str(twins.single.root), **settings))
    assert report.rows.equals(direct.rows)
    single = measure_lift(twins.single.warehouse_path, twins.single.exports_dir, "everyone",
                          SCORED_ON, "generic", campaign="single-flow-run",
                          measured_at=MEASURED_AT)
    assert (measurement.treated, measurement.holdout) == (single.treated, single.holdout)


def test_an_opted_out_person_leaves_the_backtest_on_shards_too(twins, monkeypatch, tmp_path):
    # (last: it erases a person from both twins)
    # given a scored person with an intent event in the run's horizon
    before = _rows(twins.sharded, [BACKTEST_TOTALS])[0][0]
    with duckdb.connect(str(twins.single.warehouse_path), read_only=True) as con:
        person = con.execute(
            "select ranked.person_id from marts.scores_ranked as ranked "
            "join raw.events as e using (person_id) "
            "where list_contains(?, e.event_type) and e.occurred_at >= ? "
            "order by ranked.person_id limit 1", [list(INTENT_TYPES), SCORED_ON]).fetchone()[0]
    optouts = tmp_path / "optouts.csv"
    optouts.write_text(f"person_id,requested_at,kind\n{person},2026-11-02T00:00:00Z,erasure\n",
                       encoding="utf-8")
    # when the person opts out of both, and the monitor runs again on both
    apply_optouts(twins.single.warehouse_path, optouts)
    with dask_client(engine_from(twins.address)) as client:
        apply_optouts(twins.sharded.warehouse_path, optouts, shard_runner=runner_on(client))
    monitor(MonitorSettings(home=str(twins.single.root)))
    monkeypatch.setenv("NORRUT_DASK_SCHEDULER", twins.address)
    _monitor(twins.sharded, twins.tracking_uri)
    # then the backtest counts one person and one positive fewer, on shards as on one machine
    after = _rows(twins.sharded, [BACKTEST_TOTALS])[0][0]
    assert after == (before[0] - 1, before[1] - 1)
    assert _monitor_rows(twins.sharded) == _monitor_rows(twins.single)
