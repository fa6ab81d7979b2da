"""Training, scoring and export on a warehouse sharded by person, on a real Dask cluster (a
scheduler and two worker processes on localhost): the same model, the same scores in the main
warehouse's marts.person_scores and byte-identical segment files as the single machine, on the
same simulated inbox; the same deltas after an opt-out; and `norrut pipeline` on the shards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

import activation.scoring
from activation.definitions import DEFAULT_SEGMENTS_FILE
from activation.export_store import MANIFEST_FILE, RUN_FILE
from activation.settings import ScoreAndExportSettings
from core.contract import INTENT_EVENT_TYPES
from core.engine import run_here
from core.home import NorrutHome
from features.build import has_features
from flows.run import run_score_and_export
from models.datasets import RowBounds, build_training_sets, fit_plan_to_data, plan_snapshots
from models.prediction import _boosters_in
from models.registry import load_champion
from models.settings import DEFAULT_MODEL_NAME, PromoteSettings
from models.sharded import training_sets_of_shards
from models.training import promote
from norrut.cli.app import build_app
from simulator.world import WorldSettings, simulate_world
from tests.cluster import dask_cluster
from warehouse.db import open_warehouse
from warehouse.shards import read_layout

SHARDS = 4
NORRUT = str(Path(sys.executable).with_name("norrut"))
# What differs between two runs of the same export by design: who ran it and when, where.
RUN_SPECIFIC_KEYS = {"created_at", "run_id", "model_run_id", "folder", "path", "exports_dir"}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A small simulated world with every planted fault, long enough to train on."""
    folder = tmp_path_factory.mktemp("model-shards-world") / "world"
    simulate_world(folder, WorldSettings(persons=2500, days=90, seed=11, faults=True,
                                         files_per_format=1))
    return folder


@pytest.fixture(scope="module")
def segments_file(tmp_path_factory):
    """The shipped segments with a small minimum audience, so a small world writes most of them
    (with drivers that differ from segment to segment)."""
    shipped = DEFAULT_SEGMENTS_FILE.read_text(encoding="utf-8")
    assert "min_audience_size: 1000 " in shipped
    path = tmp_path_factory.mktemp("model-shards-segments") / "segments.yaml"
    path.write_text(shipped.replace("min_audience_size: 1000 ", "min_audience_size: 30 "),
                    encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with dask_cluster(tmp_path_factory.mktemp("model-shards-cluster")) as address:
        yield address


def _norrut(home: Path, *args: str, scheduler: str | None = None) -> str:
    """A `norrut` command run directly (no Prefect server) on `home`, on the cluster at
    `scheduler` (None: this machine alone); its output."""
    env = {"NORRUT_DASK_SCHEDULER": scheduler, "PREFECT_API_URL": None,
           "NORRUT_HOME": str(home)}
    done = CliRunner().invoke(build_app(), ["--home", str(home), *args], env=env)
    assert done.exit_code == 0, f"norrut {' '.join(args)} failed:\n{done.output}\n{done.exception!r}"
    return done.output


def _train_score_export(home: Path, world: Path, segments: Path, scheduler: str | None) -> None:
    _norrut(home, "ingest", str(world / "inbox"), "--catalog", str(world / "catalog.csv"),
            scheduler=scheduler)
    _norrut(home, "train", scheduler=scheduler)
    _norrut(home, "score", scheduler=scheduler)
    _norrut(home, "export", "--segments", str(segments), scheduler=scheduler)


@pytest.fixture(scope="module")
def homes(world, segments_file, cluster, tmp_path_factory):
    """The same inbox trained on, scored and exported on one machine, and in 4 shards on the
    cluster."""
    single = NorrutHome.resolve(tmp_path_factory.mktemp("single") / "home").ensure()
    sharded = NorrutHome.resolve(tmp_path_factory.mktemp("sharded") / "home").ensure()
    _norrut(sharded.root, "shards", "create", "--count", str(SHARDS))
    _train_score_export(single.root, world, segments_file, None)
    _train_score_export(sharded.root, world, segments_file, cluster)
    return single, sharded


def _booster_texts(model) -> list[str]:
    return [booster.model_to_string() for booster in _boosters_in(model)]


def _run_of(home: NorrutHome, run_id: str):
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=home.mlflow_tracking_uri,
                          registry_uri=home.mlflow_tracking_uri)
    return client.get_run(run_id)


def _scores(home: NorrutHome) -> list[tuple]:
    with duckdb.connect(str(home.warehouse_path), read_only=True) as con:
        return con.execute("select * exclude (model_run_id, scored_at) "
                           "from marts.person_scores order by all").fetchall()


def _without_run_specifics(document):
    """A manifest's content without its run ids, timestamps and paths."""
    if isinstance(document, dict):
        return {key: _without_run_specifics(value) for key, value in document.items()
                if key not in RUN_SPECIFIC_KEYS}
    if isinstance(document, list):
        return [_without_run_specifics(value) for value in document]
    if isinstance(document, str) and ("/" in document and Path(document).is_absolute()):
        return "<path>"
    return document


def _export_files(folder: Path) -> dict[str, object]:
    """Every file of an export version: data files as bytes, manifests without run specifics."""
    files = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        name = str(path.relative_to(folder))
        if path.name in (MANIFEST_FILE, RUN_FILE):
            files[name] = _without_run_specifics(json.loads(path.read_text(encoding="utf-8")))
        else:
            files[name] = path.read_bytes()
    return files


def _only_version(home: NorrutHome, version: int) -> Path:
    folders = sorted(home.exports_dir.glob(f"*/v{version}"))
    assert len(folders) == 1, folders
    return folders[0]


@pytest.mark.slow
def test_training_sets_gathered_from_shards_equal_the_single_machines(homes):
    # given the same inbox in one warehouse and in 4 shards
    single, sharded = homes
    plan = plan_snapshots(_as_of(single), 14, 6, 7)
    # when the sets are built on one machine and gathered from the shards (here, in turn)
    with open_warehouse(single.warehouse_path) as con:
        single_plan = fit_plan_to_data(con, plan)
        expected = build_training_sets(con, single_plan, INTENT_EVENT_TYPES)
    sharded_plan, gathered = training_sets_of_shards(
        sharded.warehouse_path, read_layout(sharded.warehouse_path), plan,
        INTENT_EVENT_TYPES, run_here)
    # then the plan and every set are the same, row for row and type for type
    assert sharded_plan == single_plan
    for name in ("training", "validation", "test"):
        assert getattr(gathered, name).schema == getattr(expected, name).schema
        assert getattr(gathered, name).equals(getattr(expected, name)), name


@pytest.mark.slow
def test_bounded_sets_gathered_from_shards_are_the_single_machines_sample(homes):
    # given the same inbox in one warehouse and in 4 shards, and bounds below the sets' sizes
    single, sharded = homes
    plan = plan_snapshots(_as_of(single), 14, 6, 7)
    bounds = RowBounds(training=1200, evaluation=700)
    # when the sets are built on one machine and gathered from the shards (each shard keeps
    # its own smallest sample keys; the main process keeps the smallest of those)
    with open_warehouse(single.warehouse_path) as con:
        single_plan = fit_plan_to_data(con, plan)
        whole = build_training_sets(con, single_plan, INTENT_EVENT_TYPES)
        expected = build_training_sets(con, single_plan, INTENT_EVENT_TYPES, bounds)
    _, gathered = training_sets_of_shards(
        sharded.warehouse_path, read_layout(sharded.warehouse_path), plan,
        INTENT_EVENT_TYPES, run_here, bounds)
    # then every set is the single machine's sample, row for row, within its bound
    per_snapshot = 1200 // len(single_plan.training)
    assert expected.training.height == per_snapshot * len(single_plan.training)
    assert expected.validation.height == expected.test.height == 700
    for name in ("training", "validation", "test"):
        assert getattr(gathered, name).equals(getattr(expected, name)), name
        # a sample of the whole set's rows, in its order
        sample, rows = getattr(expected, name), getattr(whole, name)
        assert rows.height > sample.height
        assert sample.join(rows, on=["person_id", "as_of_date"], how="anti").height == 0
        assert sample.equals(sample.sort("as_of_date", "person_id"))


def _as_of(home: NorrutHome):
    with duckdb.connect(str(home.warehouse_path), read_only=True) as con:
        return con.execute("select max(as_of_date) from marts.scores_runs").fetchone()[0]


@pytest.mark.slow
def test_train_score_export_on_a_cluster_equal_the_single_machine(homes):
    single, sharded = homes
    # then the champion of each home is the same model: the same boosters, test AUC and data
    ours, theirs = (load_champion(home.mlflow_tracking_uri, DEFAULT_MODEL_NAME)
                    for home in (sharded, single))
    assert _booster_texts(ours.model) == _booster_texts(theirs.model)
    assert ours.test_metrics == theirs.test_metrics
    ours_run, their_run = _run_of(sharded, ours.run_id), _run_of(single, theirs.run_id)
    assert ours_run.data.tags["norrut.data_hash"] == their_run.data.tags["norrut.data_hash"]
    assert ours_run.data.metrics["test_roc_auc"] == their_run.data.metrics["test_roc_auc"]
    # and the main warehouse holds the same scores, row for row
    assert _scores(sharded) == _scores(single)
    # and the features the scores came from are found in the shards (`norrut score` builds
    # them first only when they are missing)
    assert has_features(sharded.warehouse_path, _as_of(sharded))
    assert not has_features(sharded.warehouse_path, _as_of(sharded) + timedelta(days=1))
    assert len(_scores(single)) > 1000
    # and the segment files are byte-identical, manifests equal but for run ids and times
    single_files = _export_files(_only_version(single, 1))
    assert any(name.endswith("generic.csv") for name in single_files)
    assert _export_files(_only_version(sharded, 1)) == single_files
    drivers = [document["drivers"] for name, document in single_files.items()
               if name.endswith(MANIFEST_FILE)]
    assert len(drivers) >= 3 and all("features" in driver for driver in drivers), drivers
    assert sum(bool(driver["features"]) for driver in drivers) >= 2, drivers


@pytest.mark.slow
def test_the_promotion_step_rebuilds_the_same_test_snapshot_from_the_shards(homes, monkeypatch):
    # given both homes' champion, version 1
    single, sharded = homes
    monkeypatch.delenv("NORRUT_DASK_SCHEDULER", raising=False)
    # when the promotion step judges it again (its test snapshot rebuilt: here shard by shard)
    results = [promote(PromoteSettings(home=str(home.root), version="1"))
               for home in (single, sharded)]
    # then both judge it on the same rows, with the same metrics
    assert results[0].model_dump() == results[1].model_dump()
    assert results[0].decision == "already_champion" and results[0].candidate_metrics


@pytest.mark.slow
def test_a_scoring_run_that_fails_on_a_shard_leaves_the_scores_as_they_were(homes, monkeypatch):
    # given the sharded home's scores
    _, sharded = homes
    before = _scores(sharded)
    runs = "select * from marts.scores_runs order by all"
    with duckdb.connect(str(sharded.warehouse_path), read_only=True) as con:
        runs_before = con.execute(runs).fetchall()
    honest = activation.scoring.score_shard

    def fails_on_the_third_shard(task):
        if task.shard_path.endswith("shard-002.duckdb"):
            raise OSError("the shard's disk went away")
        return honest(task)

    monkeypatch.setattr(activation.scoring, "score_shard", fails_on_the_third_shard)
    # when a scoring run of the same date fails on one shard (here, shard after shard)
    monkeypatch.delenv("NORRUT_DASK_SCHEDULER", raising=False)
    with pytest.raises(OSError, match="went away"):
        activation.scoring.score_persons(sharded.warehouse_path, _as_of(sharded),
                                         sharded.mlflow_tracking_uri)
    # then the main warehouse's scores and scoring runs are as they were
    assert _scores(sharded) == before
    with duckdb.connect(str(sharded.warehouse_path), read_only=True) as con:
        assert con.execute(runs).fetchall() == runs_before


def _a_segment_member(home: NorrutHome) -> str:
    generic = min(_only_version(home, 1).glob("*/generic.csv"))
    return pl.read_csv(generic)["person_id"][0]


@pytest.mark.slow
def test_an_export_after_an_optout_gives_the_same_deltas(homes, segments_file, cluster,
                                                         tmp_path, monkeypatch):
    # given both homes exported once, and a person of a segment who opts out
    single, sharded = homes
    optouts = tmp_path / "optouts.csv"
    optouts.write_text("person_id,requested_at,kind\n"
                       f"{_a_segment_member(single)},2026-11-01T00:00:00Z,erasure\n",
                       encoding="utf-8")
    # when each applies the opt-out, then scores again and exports (the score-and-export job,
    # run directly as the CLI's commands are)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    for home, scheduler in ((single, None), (sharded, cluster)):
        _norrut(home.root, "optout", str(optouts), scheduler=scheduler)
        monkeypatch.setenv("NORRUT_DASK_SCHEDULER", scheduler or "")
        run_score_and_export(ScoreAndExportSettings(home=str(home.root),
                                                    segments_file=str(segments_file)),
                             quiet=True)
    # then the scores are the same, without the person
    assert _scores(sharded) == _scores(single)
    assert optouts.read_text().splitlines()[1].split(",")[0] not in {
        row[0] for row in _scores(single)}
    # and the second versions are the same, deltas and pending removals included
    single_files = _export_files(_only_version(single, 2))
    assert any(name.endswith("-remove.csv") for name in single_files), list(single_files)
    assert _export_files(_only_version(sharded, 2)) == single_files


@pytest.mark.slow
def test_norrut_pipeline_runs_on_the_sharded_warehouse(homes, world, segments_file, cluster,
                                                       tmp_path):
    # given the sharded home, and the cluster named in the environment
    _, sharded = homes
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    env.update(NORRUT_HOME=str(sharded.root), PREFECT_HOME=str(tmp_path / "prefect"),
               NORRUT_DASK_SCHEDULER=cluster, PREFECT_SERVER_ANALYTICS_ENABLED="false")
    versions_before = len(list(sharded.exports_dir.glob("*/v*")))
    # when the CLI runs the pipeline (a flow run, on Prefect's temporary server)
    done = subprocess.run(
        [NORRUT, "pipeline", "--inbox", str(world / "inbox"),
         "--catalog", str(world / "catalog.csv"), "--segments", str(segments_file)],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=600)
    # then it succeeded and wrote a new export version of the scores the shards made
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(list(sharded.exports_dir.glob("*/v*"))) == versions_before + 1
    assert "Segment files:" in done.stdout
