"""`norrut shards split`: a single-machine warehouse moved into shards equals one sharded from
the start that ingested the same inbox, and a split killed midway leaves the single machine's
warehouse whole, finished by running it again."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
import textwrap
from datetime import date

import duckdb
import pytest
from typer.testing import CliRunner

from core.engine import dask_client, engine_from, run_here, runner_on
from core.locking import warehouse_writer_lock
from features.build import build_features
from features.settings import FeatureSettings
from features.sharded import build_on_shards
from norrut.cli.app import build_app
from simulator.world import WorldSettings, simulate_world
from tests.cluster import REPO_ROOT, dask_cluster
from warehouse.ingest.loading import ingest_inbox
from warehouse.shard_split import PER_SHARD_TABLES, split_into_shards
from warehouse.shards import ShardLayoutError, create_shards, read_layout, shard_of
from warehouse.status import warehouse_status

SHARDS = 4
FEATURES_BEFORE = date(2026, 10, 28)  # built on the single machine, then moved
FEATURES_AFTER = date(2026, 10, 31)  # built on the shards after the split


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A small simulated world with every planted fault."""
    folder = tmp_path_factory.mktemp("split-world") / "world"
    simulate_world(folder, WorldSettings(persons=800, days=12, seed=7, faults=True,
                                         files_per_format=2))
    return folder


def _opted_out(world) -> list[str]:
    first_parquet = min((world / "inbox").glob("*.parquet"))
    return [row[0] for row in duckdb.sql(
        "select distinct person_id from read_parquet(?) order by person_id limit 3",
        params=[str(first_parquet)]).fetchall()]


def _suppress(warehouse_path, person_ids: list[str]) -> None:
    with duckdb.connect(str(warehouse_path)) as con:
        for person_id in person_ids:
            con.execute("insert into raw.suppressed_persons values (sha256(?), 'objection', "
                        "timestamp '2026-01-01', now())", [person_id])


def _ingest(warehouse_path, world, **options):
    return ingest_inbox(warehouse_path, world / "inbox", world / "catalog.csv", **options)


@pytest.fixture(scope="module")
def single(world, tmp_path_factory):
    """The world ingested on one machine (three persons opted out first), with the features of
    one date built."""
    warehouse = tmp_path_factory.mktemp("single") / "warehouse.duckdb"
    ingest_inbox(warehouse, tmp_path_factory.mktemp("empty-inbox"))  # the schema, no events
    _suppress(warehouse, _opted_out(world))
    _ingest(warehouse, world)
    build_features(warehouse, FEATURES_BEFORE)
    return warehouse


@pytest.fixture(scope="module")
def from_start(world, tmp_path_factory):
    """The same inbox ingested into a warehouse sharded from the start."""
    warehouse = tmp_path_factory.mktemp("from-start") / "warehouse.duckdb"
    create_shards(warehouse, SHARDS)
    _suppress(warehouse, _opted_out(world))
    _ingest(warehouse, world, shard_runner=run_here)
    return warehouse


def _copy_of(warehouse, folder):
    """A copy of a (closed) single-machine warehouse file to split."""
    folder.mkdir(parents=True, exist_ok=True)
    return shutil.copy(warehouse, folder / "warehouse.duckdb")


def _rows(path, query: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return sorted(con.execute(query).fetchall(), key=repr)


def _comparable_status(warehouse_path) -> dict:
    return {key: value for key, value in warehouse_status(warehouse_path).items()
            if key not in ("last_ingest_at", "engine")}


def test_a_split_warehouse_equals_one_sharded_from_the_start(world, single, from_start,
                                                              tmp_path):
    # given a copy of the single machine's warehouse
    warehouse = _copy_of(single, tmp_path / "split")
    # when it is split into 4 shards
    report = split_into_shards(warehouse, SHARDS)
    # then it reads as the warehouse sharded from the start: the same status counts
    assert report.rows_moved["raw.events"] == warehouse_status(single)["events"] > 0
    assert _comparable_status(warehouse) == _comparable_status(from_start)
    # and the same events in each shard, and the same opt-out list
    layout, expected = read_layout(warehouse), read_layout(from_start)
    for path, expected_path in zip(layout.shard_paths(), expected.shard_paths(), strict=True):
        assert _rows(path, "select * from raw.events") == _rows(
            expected_path, "select * from raw.events")
        assert _rows(path, "select * from raw.suppressed_persons") == _rows(
            single, "select * from raw.suppressed_persons")
    # and each person's features of the earlier build in the person's shard, none left in main
    moved = []
    for shard, path in enumerate(layout.shard_paths()):
        rows = _rows(path, "select * from features.person_features")
        assert all(shard_of(row[0], SHARDS) == shard for row in rows)
        moved += rows
    assert sorted(moved, key=repr) == _rows(single, "select * from features.person_features")
    for table in PER_SHARD_TABLES:
        assert _rows(warehouse, f"select count(*) from {table}") == [(0,)]
    # and the main file's bytes no longer hold the moved rows
    assert report.compaction.bytes_after < report.compaction.bytes_before


def test_after_a_split_ingest_is_a_no_op_and_features_equal_the_single_machines(
        world, single, from_start, tmp_path):
    # given a split warehouse, and the warehouse sharded from the start
    warehouse = _copy_of(single, tmp_path / "split")
    split_into_shards(warehouse, SHARDS)
    events_before = _comparable_status(warehouse)
    # when the same inbox is ingested again
    again = _ingest(warehouse, world, shard_runner=run_here)
    # then nothing changes, and each file says so as on the warehouse sharded from the start
    assert _comparable_status(warehouse) == events_before
    from_start_copy = tmp_path / "from-start"
    shutil.copytree(from_start.parent, from_start_copy)
    expected = _ingest(from_start_copy / "warehouse.duckdb", world, shard_runner=run_here)
    assert [dataclasses.replace(result, seconds=0.0) for result in again.files] == [
        dataclasses.replace(result, seconds=0.0) for result in expected.files]
    assert all(result.rows_loaded == 0 for result in again.files)
    # and features built on the shards after the split equal the single machine's
    single_copy = _copy_of(single, tmp_path / "single")
    expected_build = build_features(single_copy, FEATURES_AFTER)
    built = build_on_shards(warehouse, read_layout(warehouse), FEATURES_AFTER, FeatureSettings(),
                            run_here)
    assert built.persons == expected_build.persons > 0
    query = f"select * from features.person_features where as_of_date = '{FEATURES_AFTER}'"
    rows = []
    for path in read_layout(warehouse).shard_paths():
        rows += _rows(path, query)
    assert sorted(rows, key=repr) == _rows(single_copy, query)


def test_a_split_on_a_real_cluster_equals_one_sharded_from_the_start(single, from_start,
                                                                     tmp_path):
    # given a copy of the single machine's warehouse, and a scheduler with two worker processes
    warehouse = _copy_of(single, tmp_path / "split")
    (tmp_path / "dask").mkdir()
    with dask_cluster(tmp_path / "dask") as address, dask_client(engine_from(address)) as client:
        # when it is split with each shard's task on the cluster
        split_into_shards(warehouse, SHARDS, runner_on(client))
    # then each shard holds the events of the warehouse sharded from the start
    for path, expected_path in zip(read_layout(warehouse).shard_paths(),
                                   read_layout(from_start).shard_paths(), strict=True):
        assert _rows(path, "select * from raw.events") == _rows(
            expected_path, "select * from raw.events")
    assert _comparable_status(warehouse) == _comparable_status(from_start)


def test_a_split_killed_midway_leaves_the_single_machine_and_a_rerun_finishes_it(
        world, single, from_start, tmp_path):
    # given a copy of the single machine's warehouse
    warehouse = _copy_of(single, tmp_path / "split")
    before = _comparable_status(warehouse)
    # when a split is killed (SIGKILL) after two of its four shards were written
    killed = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        import os, signal
        from warehouse.shard_split import split_into_shards

        def two_then_die(task, items):
            task(items[0]), task(items[1])
            os.kill(os.getpid(), signal.SIGKILL)

        split_into_shards({str(warehouse)!r}, {SHARDS}, two_then_die)
    """)], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    assert killed.returncode == -9, killed.stderr
    # then the warehouse is still the single machine's, whole, and its jobs run on it
    assert read_layout(warehouse) is None
    assert _comparable_status(warehouse) == before
    assert all(result.rows_loaded == 0 for result in _ingest(warehouse, world).files)
    # and a rerun finishes the split: the same events per shard as sharded from the start
    split_into_shards(warehouse, SHARDS)
    for path, expected_path in zip(read_layout(warehouse).shard_paths(),
                                   read_layout(from_start).shard_paths(), strict=True):
        assert _rows(path, "select * from raw.events") == _rows(
            expected_path, "select * from raw.events")
    assert _comparable_status(warehouse) == _comparable_status(from_start)


def test_features_of_an_earlier_feature_set_move_with_their_own_columns(single, tmp_path):
    # given a warehouse whose feature table was last built with another feature set (a column
    # fewer than this Norrut's)
    warehouse = _copy_of(single, tmp_path / "split")
    with duckdb.connect(str(warehouse)) as con:
        dropped = con.execute("describe features.person_features").fetchall()[-1][0]
        con.execute(f"alter table features.person_features drop column {dropped}")
    expected = _rows(warehouse, "select * from features.person_features")
    # when it is split
    split_into_shards(warehouse, SHARDS)
    # then the shards hold those rows in that table's columns, as the main file held them
    moved = []
    for path in read_layout(warehouse).shard_paths():
        moved += _rows(path, "select * from features.person_features")
        columns = [row[0] for row in _rows(path, "describe features.person_features")]
        assert dropped not in columns
    assert sorted(moved, key=repr) == expected


def test_a_sharded_warehouse_is_not_split_again(world, from_start):
    with pytest.raises(ShardLayoutError, match="sharded already, in 4 shards"):
        split_into_shards(from_start, 8)


def test_cli_shards_split_moves_the_home_and_refuses_a_busy_or_sharded_one(home, world):
    # given a home with the world ingested on one machine
    runner = CliRunner()
    ingested = runner.invoke(build_app(), ["ingest", str(world / "inbox")])
    assert ingested.exit_code == 0, ingested.output
    # when another writer holds the warehouse, the split is refused at once, naming it
    with warehouse_writer_lock(home.warehouse_path, home.locks_dir, run_name="ingest-nightly"):
        busy = runner.invoke(build_app(), ["shards", "split", "--count", "3"])
    assert busy.exit_code == 2 and "ingest-nightly" in busy.output, busy.output
    assert read_layout(home.warehouse_path) is None
    # when it is split
    split = runner.invoke(build_app(), ["shards", "split", "--count", "3"])
    # then it says so, and status shows the shards
    assert split.exit_code == 0, split.output
    assert "sharded in 3 shards" in split.output and "rows of raw.events" in split.output
    shown = runner.invoke(build_app(), ["status", "--json"])
    assert '"shard_count": 3' in shown.output, shown.output
    # and a second split is refused, in one line
    again = runner.invoke(build_app(), ["shards", "split", "--count", "3"])
    assert again.exit_code == 2 and "sharded already, in 3 shards" in again.output, again.output
