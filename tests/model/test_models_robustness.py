"""Feature builds and training under kill -9, and what MLflow keeps about persons (issue 16,
breaks 9 and 14)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pytest
from worlds import write_world

from features.build import build_features
from features.catalog import FEATURE_NAMES
from models.settings import TrainSettings
from models.training import train_model

REPO = Path(__file__).resolve().parents[2]
SCORING_DATE = date(2026, 3, 12)  # the world runs 70 days from 2026-01-01
EARLIER_DATE = date(2026, 1, 25)  # fewer persons have events before it than before SCORING_DATE
# Columns of the example allowed to equal a real person's by coincidence (a mean that happens
# to be a whole number of days, say); a real row matches on all of them.
MAX_COINCIDENT_COLUMNS = 3


def _feature_tables_state(warehouse: Path) -> dict[str, tuple]:
    """Per table of the features schema: its row count and the as-of dates it holds."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = [row[0] for row in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'features' "
            "order by table_name").fetchall()]
        state = {}
        for table in tables:
            columns = {row[0] for row in con.execute(f"describe features.{table}").fetchall()}
            dates = (con.execute(f"select list(distinct as_of_date order by as_of_date) "
                                 f"from features.{table}").fetchone()[0]
                     if "as_of_date" in columns else None)
            count = con.execute(f"select count(*) from features.{table}").fetchone()[0]
            state[table] = (count, dates)
    return state


def _start_and_kill(script: str, kill_after_line: str) -> None:
    """Run `script` in a real process and SIGKILL it as soon as it prints `kill_after_line`."""
    process = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        printed = []
        while (line := process.stdout.readline().strip()) != kill_after_line:
            assert line, f"the process ended before {kill_after_line!r}; it printed {printed}"
            printed.append(line)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
    finally:
        process.kill()
        process.wait()
        process.stdout.close()
    assert process.returncode == -signal.SIGKILL, "the process ended by itself, not killed"


@pytest.fixture
def world_with_features(tmp_path) -> Path:
    warehouse = tmp_path / "home" / "warehouse.duckdb"
    write_world(warehouse, n_persons=800, n_days=70)
    build_features(warehouse, SCORING_DATE)
    return warehouse


def test_a_feature_build_killed_mid_way_leaves_the_previous_build(world_with_features):
    # given features built for one date, and the state of every feature table
    before = _feature_tables_state(world_with_features)
    # when a build for another date is killed after it has replaced two of its tables
    _start_and_kill(f"""
        import time
        from datetime import date
        import features.build

        step_sql = features.build.step_sql

        def announcing(path, catalog):
            print(path, flush=True)
            if path == "features/person_themes_90d.sql":
                time.sleep(60)  # the kill lands here, inside the build's transaction
            return step_sql(path, catalog)

        features.build.step_sql = announcing
        features.build.build_features({str(world_with_features)!r}, date(2026, 1, 25))
    """, kill_after_line="features/person_themes_90d.sql")
    # then every feature table holds exactly what the previous build left
    assert _feature_tables_state(world_with_features) == before
    # and the test could tell: the same build, run to its end, changes them
    build_features(world_with_features, EARLIER_DATE)
    assert _feature_tables_state(world_with_features) != before


@pytest.mark.slow
def test_a_training_killed_while_building_snapshots_leaves_every_date_whole(
        world_with_features, tmp_path):
    # given features built for the scoring date (as the pipeline does before training)
    scoring_rows = _feature_rows(world_with_features, SCORING_DATE)
    # when a training is killed while it builds its third snapshot (each commits on its own,
    # for DuckDB's memory: models/datasets.py)
    _start_and_kill(f"""
        import time
        from datetime import date
        import models.datasets
        from models.settings import TrainSettings
        from models.training import train_model
        from core.home import NorrutHome

        build = models.datasets.build_features_in_transaction
        built = []

        def announcing(con, as_of):
            result = build(con, as_of)
            built.append(as_of)
            print(f"built {{len(built)}}", flush=True)
            if len(built) == 3:
                time.sleep(60)  # the kill lands here, inside the third snapshot's transaction
            return result

        models.datasets.build_features_in_transaction = announcing
        train_model(TrainSettings(as_of=date(2026, 3, 12), min_positives=30),
                    NorrutHome.resolve({str(world_with_features.parent)!r}))
    """, kill_after_line="built 3")
    # then the scoring date's features are as they were, and the two snapshots that committed
    # are whole: each equals a build of its date run to its end on a copy
    assert _feature_rows(world_with_features, SCORING_DATE) == scoring_rows
    dates = _feature_dates(world_with_features)
    committed = [day for day in dates if day != SCORING_DATE]
    assert len(committed) == 2, dates
    copy = tmp_path / "copy.duckdb"
    shutil.copy(world_with_features, copy)
    for day in committed:
        build_features(copy, day)
        assert _feature_rows(world_with_features, day) == _feature_rows(copy, day), day
    # and the third snapshot left nothing
    assert len(dates) == 3


def _feature_dates(warehouse: Path) -> list[date]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return [row[0] for row in con.execute(
            "select distinct as_of_date from features.person_features order by 1").fetchall()]


def _feature_rows(warehouse: Path, as_of: date) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute("select * from features.person_features where as_of_date = ? "
                           "order by person_id", [as_of]).fetchall()


@pytest.fixture(scope="module")
def trained_after_a_killed_run(tmp_path_factory):
    """A home whose first training process was killed while its MLflow run was open, then a
    training run to its end. Yields (home, run id left by the killed process, TrainResult)."""
    from core.home import NorrutHome

    home = NorrutHome.resolve(tmp_path_factory.mktemp("robust") / "home").ensure()
    write_world(home.warehouse_path, n_persons=1500, n_days=70)
    killed_run = _run_left_running_by_a_killed_process(home)
    result = train_model(TrainSettings(as_of=SCORING_DATE, min_positives=30), home)
    return home, killed_run, result


def _run_left_running_by_a_killed_process(home) -> str:
    """Start an MLflow run the way training does, in a process then killed with SIGKILL."""
    import mlflow

    process = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        import mlflow
        from models.settings import DEFAULT_EXPERIMENT
        from models.tracking import ensure_experiment, owner_tags, use_tracking

        use_tracking({home.mlflow_tracking_uri!r})
        experiment_id = ensure_experiment(DEFAULT_EXPERIMENT,
                                          {home.mlflow_artifacts_dir.as_uri()!r})
        run = mlflow.start_run(experiment_id=experiment_id, tags=owner_tags())
        print(run.info.run_id, flush=True)
        time.sleep(600)
    """)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    run_id = process.stdout.readline().strip()
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    process.stdout.close()
    client = mlflow.MlflowClient(tracking_uri=home.mlflow_tracking_uri)
    assert client.get_run(run_id).info.status == "RUNNING", "the killed run must be left open"
    return run_id


@pytest.mark.slow
def test_a_run_left_running_by_a_killed_training_is_failed_at_the_next_start(
        trained_after_a_killed_run):
    import mlflow

    # given a run left RUNNING by a killed process, when a training started afterwards
    home, killed_run, result = trained_after_a_killed_run
    client = mlflow.MlflowClient(tracking_uri=home.mlflow_tracking_uri)
    # then the abandoned run is FAILED, with a reason naming its process
    abandoned = client.get_run(killed_run)
    assert abandoned.info.status == "FAILED", abandoned.info
    assert abandoned.info.end_time is not None
    reason = abandoned.data.tags["norrut.failure_reason"]
    assert f"pid {abandoned.data.tags['norrut.pid']}" in reason, reason
    assert result.abandoned_runs_failed == [killed_run]
    # and the new run finished normally, recording its own process
    new_run = client.get_run(result.run_id)
    assert new_run.info.status == "FINISHED"
    assert new_run.data.tags["norrut.pid"] == str(os.getpid())


def _varies(column: np.ndarray) -> bool:
    """More than one distinct value, a missing value counting as one."""
    missing = np.isnan(column)
    return len(set(column[~missing].tolist())) + bool(missing.any()) > 1


def _example_rows(path: Path) -> tuple[list[str], list[list[float]]]:
    """Columns and rows of an MLflow input example (pandas split orient, maybe wrapped)."""
    document = json.loads(path.read_text(encoding="utf-8"))
    split = document.get("dataframe_split", document)
    return split["columns"], split["data"]


@pytest.mark.slow
def test_mlflow_keeps_no_real_persons_row_and_no_person_id(trained_after_a_killed_run):
    # given a trained model, and every feature row and person id of the warehouse
    home, _, _ = trained_after_a_killed_run
    with duckdb.connect(str(home.warehouse_path), read_only=True) as con:
        person_ids = {row[0] for row in con.execute(
            "select distinct person_id from raw.events").fetchall()}
        real = con.execute("select " + ", ".join(FEATURE_NAMES)
                           + " from features.person_features").fetchnumpy()
    real_rows = np.column_stack([np.asarray(real[name], dtype=float) for name in FEATURE_NAMES])
    varying = [i for i in range(real_rows.shape[1]) if _varies(real_rows[:, i])]
    files = [path for path in home.mlflow_dir.rglob("*") if path.is_file()]
    examples = [path for path in files
                if path.name in ("input_example.json", "serving_input_example.json")]
    assert len(examples) == 2, examples

    # when each example row is compared with every real row on the columns that vary
    for path in examples:
        columns, rows = _example_rows(path)
        assert columns == list(FEATURE_NAMES), path
        for row in rows:
            example = np.asarray(row, dtype=float)[varying]
            equal = np.isclose(real_rows[:, varying], example, rtol=1e-9, atol=0,
                               equal_nan=True).sum(axis=1)
            # then no person matches it on more than a few columns
            assert equal.max() <= MAX_COINCIDENT_COLUMNS, (
                f"{path.name} matches a real person on {equal.max()} of {len(varying)} columns")

    # and no file of the MLflow store (database and artifacts) holds a person id
    found = {}
    for path in files:
        data = path.read_bytes()
        hits = {match.decode() for match in re.findall(rb"person_\d{6}", data)} & person_ids
        if hits:
            found[str(path.relative_to(home.mlflow_dir))] = sorted(hits)[:3]
    assert not found, found
