"""A warehouse sharded by person: ingest on a real Dask cluster (a scheduler and two worker
processes on localhost) stores exactly what the single-machine path stores, every event in its
person's shard, safe to rerun, and safe when a worker is killed mid-ingest."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import sys
import time
from datetime import date

import duckdb
import pytest
from distributed import Client
from typer.testing import CliRunner

from core.engine import (
    SINGLE_MACHINE,
    Engine,
    EngineConfigError,
    dask_client,
    engine_from,
    local_cluster,
    local_cluster_options,
    run_here,
    runner_on,
)
from features.build import build_features
from features.settings import FeatureSettings
from features.sharded import build_on_shards
from norrut.cli.app import build_app
from simulator.world import WorldSettings, simulate_world
from tests.cluster import dask_cluster, store_then_die_once
from warehouse.checks import check_grain
from warehouse.ingest.loading import ingest_inbox
from warehouse.migrations import migrate
from warehouse.optout import apply_optouts
from warehouse.shards import (
    ShardLayoutError,
    create_shards,
    read_layout,
    shard_of,
    shards_dir_of,
)
from warehouse.sql_files import read_sql, table_spec
from warehouse.status import warehouse_status

SHARDS = 4
# (person_id, shard of 16): fixed for good, since a person's shard must never change
PINNED_SHARDS = [("person_aaaa0001", 2), ("3f2504e0-4f89-11d3-9a0c-0305e82c3301", 6),
                 ("ck_9b1deb4d3b7d", 2), ("person_zz", 0)]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A small simulated world with every planted fault (bad rows in every text file,
    duplicates, unknown columns, a truncated gzip, an unreadable file, a re-delivery)."""
    folder = tmp_path_factory.mktemp("shard-world") / "world"
    simulate_world(folder, WorldSettings(persons=1500, days=12, seed=5, faults=True,
                                         files_per_format=2))
    return folder


def _suppress(warehouse_path, person_ids: list[str]) -> None:
    """Opt-outs recorded in the main warehouse, as `norrut optout` records them."""
    with duckdb.connect(str(warehouse_path)) as con:
        for person_id in person_ids:
            con.execute("insert into raw.suppressed_persons values (sha256(?), 'objection', "
                        "timestamp '2026-01-01', now())", [person_id])


def _some_persons(world, count: int) -> list[str]:
    """Persons of the world's first Parquet file (canonical ids: the simulator writes them so)."""
    first_parquet = min((world / "inbox").glob("*.parquet"))
    return [row[0] for row in duckdb.sql(
        "select distinct person_id from read_parquet(?) order by person_id limit ?",
        params=[str(first_parquet), count]).fetchall()]


def _file_results(report) -> list[tuple]:
    return [dataclasses.replace(result, seconds=0.0) for result in report.files]


def _main_rows(warehouse_path, query: str) -> list[tuple]:
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        return con.execute(query).fetchall()


def _events(warehouse_path) -> list[tuple]:
    """Every stored event, of the warehouse or of all its shards, sorted."""
    layout = read_layout(warehouse_path)
    paths = [warehouse_path] if layout is None else layout.shard_paths()
    rows = []
    for path in paths:
        rows += _main_rows(path, "select * from raw.events")
    return sorted(rows, key=repr)


def _comparable_status(warehouse_path) -> dict:
    status = warehouse_status(warehouse_path)
    return {key: value for key, value in status.items()
            if key not in ("shard_count", "engine", "last_ingest_at")}


def _sharded_warehouse(tmp_path, world):
    warehouse = tmp_path / "warehouse.duckdb"
    create_shards(warehouse, SHARDS)
    _suppress(warehouse, _some_persons(world, 3))
    return warehouse


@pytest.fixture(scope="module")
def reference(world, tmp_path_factory):
    """The single-machine ingest of the world, with three persons opted out beforehand."""
    warehouse = tmp_path_factory.mktemp("reference") / "warehouse.duckdb"
    ingest_inbox(warehouse, tmp_path_factory.mktemp("empty-inbox"))  # the schema, no events
    _suppress(warehouse, _some_persons(world, 3))
    report = ingest_inbox(warehouse, world / "inbox")
    assert sum(result.suppressed_dropped for result in report.files) > 0
    assert sum(result.duplicates_skipped for result in report.files) > 0
    assert sum(result.rows_quarantined for result in report.files) > 0
    return warehouse, report


def _assert_same_as_reference(warehouse, report, reference) -> None:
    """The run's report, and the manifest, events, quarantine and status it left (a `report` of
    None: a rerun, whose report says which files were recorded before)."""
    reference_warehouse, reference_report = reference
    if report is not None:
        assert _file_results(report) == _file_results(reference_report)
    assert _events(warehouse) == _events(reference_warehouse)
    manifest = ("select * exclude (seconds, ingested_at) from raw.ingest_files "
                "order by file_sha256")
    assert _main_rows(warehouse, manifest) == _main_rows(reference_warehouse, manifest)
    quarantine = ("select * exclude (quarantined_at) from raw.quarantine_rows "
                  "order by all")
    assert _main_rows(warehouse, quarantine) == _main_rows(reference_warehouse, quarantine)
    assert _comparable_status(warehouse) == _comparable_status(reference_warehouse)
    # the main file holds no event: they are all in the shards
    assert _main_rows(warehouse, "select count(*) from raw.events") == [(0,)]


def test_shard_of_is_pinned_and_equals_the_sql_macro():
    # given ids of every kind, and the shards they were given once
    con = duckdb.connect()
    con.execute(read_sql("queries/shard_macros.sql"))
    ids = [f"person_{number:06d}" for number in range(2000)] + [
        hashlib.md5(str(number).encode()).hexdigest() for number in range(500)]
    # then Python and DuckDB agree on every one, for several shard counts
    for count in (1, 4, 16, 61):
        in_sql = dict(con.execute("select person_id, norrut_shard_of(person_id, ?) "
                                  "from unnest(?) as ids(person_id)", [count, ids]).fetchall())
        assert in_sql == {person_id: shard_of(person_id, count) for person_id in ids}
    # and the pinned shards never change
    assert [(person_id, shard_of(person_id, 16)) for person_id, _ in PINNED_SHARDS] == \
        PINNED_SHARDS
    counts = [0] * 16
    for person_id in ids:
        counts[shard_of(person_id, 16)] += 1
    assert min(counts) > len(ids) / 16 / 2  # spread over every shard


@pytest.mark.parametrize(("value", "engine"), [
    (None, SINGLE_MACHINE), ("", SINGLE_MACHINE), ("  ", SINGLE_MACHINE),
    ("local:2", Engine("local", local_workers=2)),
    ("tcp://scheduler:8786", Engine("cluster", address="tcp://scheduler:8786")),
])
def test_the_engine_is_chosen_by_the_scheduler_setting(value, engine):
    assert engine_from(value) == engine


@pytest.mark.parametrize("value", ["local:0", "local:x", "scheduler:8786", "http://x:8786"])
def test_a_scheduler_setting_that_names_no_engine_is_refused(value):
    with pytest.raises(EngineConfigError, match="NORRUT_DASK_SCHEDULER"):
        engine_from(value)


@pytest.mark.slow
def test_a_local_cluster_keeps_its_thread_limits_out_of_the_commands_environment(monkeypatch):
    # given a command whose own OpenMP threads are not limited
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    # when it starts a LocalCluster of two workers
    with dask_client(engine_from("local:2")) as client:
        workers = client.run(lambda: os.environ.get("OMP_NUM_THREADS"))
        # then its own LightGBM may still use every core (distributed's Nanny would set 1)
        assert "OMP_NUM_THREADS" not in os.environ
    # and each worker is limited to its own share of the cores
    assert list(workers.values()) == [str(max(1, (os.cpu_count() or 1) // 2))] * 2


def _lightgbm_imported() -> bool:
    return "lightgbm" in sys.modules


def _imported_within(client, seconds: float) -> bool:
    """Whether every worker of the client has LightGBM imported within `seconds`, no task
    having asked for it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(client.run(_lightgbm_imported).values()):
            return True
        time.sleep(0.5)
    return False


def test_a_local_clusters_workers_import_lightgbm_as_they_start():
    # when a LocalCluster of the local:N engine starts (its workers have the preload)
    with dask_client(engine_from("local:1")) as client:
        # then its worker imports LightGBM by itself, in the background
        assert _imported_within(client, 60)
    # and the test could tell: a worker without the preload has not imported it
    options = local_cluster_options(engine_from("local:1")) | {"preload": []}
    with local_cluster(**options) as cluster, Client(cluster) as client:
        assert not _imported_within(client, 5)


def test_sharded_ingest_here_equals_the_single_machine(world, reference, tmp_path):
    # given a warehouse of 4 shards, with the same opt-outs as the reference
    warehouse = _sharded_warehouse(tmp_path, world)
    # when the inbox is ingested with the shards run here, one after another
    report = ingest_inbox(warehouse, world / "inbox", shard_runner=run_here)
    # then everything stored and counted equals the single machine's
    _assert_same_as_reference(warehouse, report, reference)
    # and the shard tables keep their grain
    layout = read_layout(warehouse)
    for path, table in [(warehouse, "meta/shard_layout.sql")] + [
            (shard, "raw/shard_files.sql") for shard in layout.shard_paths()]:
        with duckdb.connect(str(path), read_only=True) as con:
            assert con.execute(f"select count(*) from {table_spec(table).name}").fetchone()[0]
            assert check_grain(con, table_spec(table)) == []
    # and every event is in its person's shard
    for shard, path in enumerate(layout.shard_paths()):
        persons = [row[0] for row in _main_rows(path, "select distinct person_id from raw.events")]
        assert persons and all(shard_of(person, SHARDS) == shard for person in persons)


@pytest.mark.slow
def test_sharded_ingest_on_a_real_cluster_equals_the_single_machine_and_reruns_safely(
        world, reference, tmp_path):
    warehouse = _sharded_warehouse(tmp_path, world)
    with dask_cluster(tmp_path) as address, dask_client(engine_from(address)) as client:
        # when the inbox is ingested on a scheduler with two worker processes
        report = ingest_inbox(warehouse, world / "inbox", shard_runner=runner_on(client))
        _assert_same_as_reference(warehouse, report, reference)
        stored = _events(warehouse)
        # and ingested again
        again = ingest_inbox(warehouse, world / "inbox", shard_runner=runner_on(client))
    # then the second run loads nothing and changes nothing
    assert {result.status for result in again.files} <= {"already_loaded", "quarantined"}
    assert sum(result.rows_loaded for result in again.files) == 0
    assert _events(warehouse) == stored
    _assert_same_as_reference(warehouse, report, reference)


@pytest.mark.slow
def test_a_worker_killed_mid_ingest_then_rerun_gives_identical_counts(world, reference, tmp_path):
    warehouse = _sharded_warehouse(tmp_path, world)
    marker = str(tmp_path / "killed-once")
    with dask_cluster(tmp_path) as address, dask_client(engine_from(address)) as client:
        real_runner = runner_on(client)

        def killing_runner(task, items):
            # the first shard task commits its share, then its worker dies with SIGKILL
            return real_runner(functools.partial(store_then_die_once, marker), items)

        report = ingest_inbox(warehouse, world / "inbox", shard_runner=killing_runner)
        # the task was run again on a worker, found its share stored, and stored nothing twice
        rerun = ingest_inbox(warehouse, world / "inbox", shard_runner=real_runner)
    assert (tmp_path / "killed-once").exists()
    assert sum(result.rows_loaded for result in rerun.files) == 0
    _assert_same_as_reference(warehouse, report, reference)


def test_shards_that_stored_a_batch_the_main_warehouse_missed_store_nothing_twice(
        world, reference, tmp_path):
    # given a run killed after the shards committed a batch, before the main warehouse did
    warehouse = _sharded_warehouse(tmp_path, world)

    class MainWarehouseDies(Exception):
        pass

    def shards_then_main_dies(task, items):
        run_here(task, items)
        raise MainWarehouseDies

    with pytest.raises(MainWarehouseDies):
        ingest_inbox(warehouse, world / "inbox", shard_runner=shards_then_main_dies)
    assert _main_rows(warehouse, "select count(*) from raw.ingest_files "
                                 "where status = 'loaded'") == [(0,)]
    # when the inbox is ingested again
    rerun = ingest_inbox(warehouse, world / "inbox", shard_runner=run_here)
    # then the counts and events are the single machine's, nothing stored twice
    assert {result.file_name for result in rerun.files if result.status == "loaded"} == {
        result.file_name for result in reference[1].files if result.status == "loaded"}
    _assert_same_as_reference(warehouse, None, reference)
    assert not any(shards_dir_of(warehouse).glob("staging/batch-*"))


def test_the_shard_count_is_fixed_and_a_loaded_warehouse_is_not_sharded(world, tmp_path):
    warehouse = _sharded_warehouse(tmp_path / "sharded", world)
    assert create_shards(warehouse, SHARDS).shard_count == SHARDS  # the same again: fine
    with pytest.raises(ShardLayoutError, match="never changes"):
        create_shards(warehouse, 8)
    loaded = tmp_path / "loaded" / "warehouse.duckdb"
    ingest_inbox(loaded, world / "inbox")
    with pytest.raises(ShardLayoutError, match="holds events already"):
        create_shards(loaded, SHARDS)
    assert read_layout(loaded) is None


def test_cli_shards_status_and_a_cluster_named_for_an_unsharded_warehouse(home, world,
                                                                         monkeypatch):
    runner = CliRunner()
    created = runner.invoke(build_app(), ["shards", "create", "--count", "3"])
    assert created.exit_code == 0, created.output
    assert "3 shards" in created.output
    ingested = runner.invoke(build_app(), ["ingest", str(world / "inbox")])
    assert ingested.exit_code == 0, ingested.output
    shown = runner.invoke(build_app(), ["status", "--json"])
    assert '"shard_count": 3' in shown.stdout and '"engine": "single machine"' in shown.stdout
    # a cluster named for an unsharded warehouse is refused too
    monkeypatch.setenv("NORRUT_DASK_SCHEDULER", "local:1")
    monkeypatch.setenv("NORRUT_HOME", str(home.root.parent / "other-home"))
    unsharded = runner.invoke(build_app(), ["ingest", str(world / "inbox")])
    assert unsharded.exit_code != 0
    assert "is not sharded" in unsharded.output


def _write_optouts(path, person_ids: list[str]):
    path.write_text("person_id,requested_at,kind\n" + "".join(
        f"{person_id},2026-11-01T00:00:00Z,erasure\n" for person_id in person_ids),
        encoding="utf-8")
    return path


def test_an_optout_erases_the_persons_from_every_shard_as_on_a_single_machine(world, tmp_path):
    # given the same world ingested on a single machine and in 4 shards
    single = tmp_path / "single" / "warehouse.duckdb"
    ingest_inbox(single, world / "inbox")
    sharded = tmp_path / "sharded" / "warehouse.duckdb"
    create_shards(sharded, SHARDS)
    ingest_inbox(sharded, world / "inbox", shard_runner=run_here)
    erased = _some_persons(world, 6)
    layout = read_layout(sharded)
    assert {shard_of(person, SHARDS) for person in erased} != {shard_of(erased[0], SHARDS)}
    # when the same opt-out file is applied to both
    optouts = _write_optouts(tmp_path / "optouts.csv", erased)
    single_report = apply_optouts(single, optouts)
    sharded_report = apply_optouts(sharded, optouts, shard_runner=run_here)
    # then as many rows are removed, and the same events remain
    assert sharded_report.rows_removed["raw.events"] == single_report.rows_removed["raw.events"] > 0
    assert _events(sharded) == _events(single)
    audited = _main_rows(sharded, "select rows_removed from audit.optout_runs")
    assert json.loads(audited[0][0])["raw.events"] == single_report.rows_removed["raw.events"]
    # and no shard file holds a byte of them any more
    for path in layout.shard_paths():
        data = path.read_bytes()
        assert not [person for person in erased if person.encode() in data]
    # and a later ingest of the same files stores nothing again
    again = ingest_inbox(sharded, world / "inbox", shard_runner=run_here)
    assert sum(result.rows_loaded for result in again.files) == 0
    assert _comparable_status(sharded)["persons"] == _comparable_status(single)["persons"]


def test_a_shard_whose_erasure_was_cut_short_is_erased_by_the_next_optout_run(world, tmp_path):
    # given a sharded warehouse whose opt-out run stopped after the main warehouse committed
    sharded = tmp_path / "warehouse.duckdb"
    create_shards(sharded, SHARDS)
    ingest_inbox(sharded, world / "inbox", shard_runner=run_here)
    erased = _some_persons(world, 4)

    class Killed(Exception):
        pass

    def dies_before_the_shards(task, items):
        raise Killed

    with pytest.raises(Killed):
        apply_optouts(sharded, _write_optouts(tmp_path / "first.csv", erased),
                      shard_runner=dies_before_the_shards)
    assert set(erased) & {row[2] for row in _events(sharded)}  # still in their shards
    # when a later opt-out run, for another person, completes
    apply_optouts(sharded, _write_optouts(tmp_path / "second.csv", _some_persons(world, 5)[-1:]),
                  shard_runner=run_here)
    # then the first run's persons are gone from every shard too
    assert not set(erased) & {row[2] for row in _events(sharded)}


def test_features_built_on_shards_equal_the_single_machines(world, tmp_path):
    # given the same world ingested on a single machine and in 4 shards
    single = tmp_path / "single" / "warehouse.duckdb"
    ingest_inbox(single, world / "inbox", world / "catalog.csv")
    sharded = tmp_path / "sharded" / "warehouse.duckdb"
    create_shards(sharded, SHARDS)
    ingest_inbox(sharded, world / "inbox", world / "catalog.csv", shard_runner=run_here)
    as_of = date(2026, 10, 30)
    # when the features of one date are built on both
    expected = build_features(single, as_of)
    layout = read_layout(sharded)
    result = build_on_shards(sharded, layout, as_of, FeatureSettings(), run_here)
    # then every person's features are the single machine's, each in the person's shard
    assert result.persons == expected.persons > 0
    rows = []
    for shard, path in enumerate(layout.shard_paths()):
        shard_rows = _main_rows(path, "select * from features.person_features")
        assert all(shard_of(row[0], SHARDS) == shard for row in shard_rows)
        rows += shard_rows
    assert sorted(rows, key=repr) == sorted(
        _main_rows(single, "select * from features.person_features"), key=repr)
    # and the main warehouse logs the build, so scoring finds the date's features
    assert _main_rows(sharded, "select as_of_date, persons from features.feature_builds") == [
        (as_of, expected.persons)]


def test_a_warehouse_made_before_shards_is_read_as_one_machine(tmp_path):
    # given a warehouse at the schema before shards (as an older Norrut left it)
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        migrate(con, target=10)
    # then it is read as one machine's
    assert read_layout(warehouse) is None
