"""The flows under Prefect's test harness: what they load, the summaries they publish, their
run names, and one writer at a time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    FlowRunFilter,
    FlowRunFilterId,
)

from activation.settings import ScoreAndExportSettings
from core.home import NorrutHome
from features.settings import FeatureSettings
from flows.ingest import ingest
from flows.pipeline import pipeline
from flows.settings import PipelineSettings
from models.settings import TrainSettings
from simulator.world import WorldSettings, simulate_world
from warehouse.db import open_warehouse
from warehouse.settings import IngestSettings, OptoutSettings

REPO_ROOT = Path(__file__).resolve().parents[2]
NORRUT = str(Path(sys.executable).with_name("norrut"))
# The simulator's default last day of events; the pipeline's default as-of is the day after.
WORLD_END = date(2026, 11, 1)


def _event(event_id: str, person: str, event_type: str = "view", **extra) -> dict:
    return {"event_id": event_id, "occurred_at": "2026-03-01T18:04:05+01:00",
            "person_id": person, "id_type": "cookie", "event_type": event_type,
            "content_id": "film-001", "consent": True, **extra}


@pytest.fixture
def inbox(tmp_path):
    """An inbox with three honest events and one row whose person_id is an e-mail address."""
    folder = tmp_path / "inbox"
    folder.mkdir()
    rows = [
        _event("e-1", "cookie-aaaa-0001"),
        _event("e-2", "cookie-aaaa-0001", "click"),
        _event("e-3", "cookie-bbbb-0002", "job_click", municipality="Luleå"),
        _event("e-4", "anna.svensson@example.se"),
    ]
    (folder / "batch-001.jsonl").write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return folder


def _events_in(home) -> int:
    with open_warehouse(home.warehouse_path, read_only=True) as con:
        return con.execute("select count(*) from raw.events").fetchone()[0]


def _artifacts_of(flow_run_id) -> dict[str, str]:
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
    return {artifact.key: artifact.data for artifact in artifacts}


def _flow_run(flow_run_id):
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(flow_run_filter=FlowRunFilter(
            id=FlowRunFilterId(any_=[flow_run_id])))[0]


def test_ingest_flow_loads_the_inbox_and_publishes_what_it_did(prefect_harness, home, inbox):
    # given an inbox with three honest events and one personal-looking row
    # when the ingest flow runs
    state = ingest(IngestSettings(home=str(home.root), inbox=str(inbox)), return_state=True)
    # then it completed and loaded the three events
    assert state.is_completed(), state.message
    report = state.result()
    assert (report.rows_loaded, report.rows_quarantined) == (3, 1)
    assert _events_in(home) == 3
    # and its summary names the file, the counts and the reason for quarantine
    summary = _artifacts_of(state.state_details.flow_run_id)["ingest-summary"]
    assert "**3** new events loaded from 1 file(s)" in summary, summary
    assert "batch-001.jsonl" in summary and "pii_email" in summary, summary
    assert "anna.svensson" not in summary, "personal data must never reach a summary"
    # and the run is named after its date
    assert _flow_run(state.state_details.flow_run_id).name.startswith("ingest-20")


def test_two_ingest_flows_started_at_once_both_finish_and_load_each_event_once(
        prefect_harness, home, inbox):
    # given two ingest runs of the same inbox started at the same moment
    states = {}

    def run(label: str) -> None:
        states[label] = ingest(IngestSettings(home=str(home.root), inbox=str(inbox)), return_state=True)

    threads = [threading.Thread(target=run, args=(label,)) for label in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    # then both completed: one waited for the other instead of hitting DuckDB's file lock
    for label, state in states.items():
        assert state.is_completed(), f"{label}: {state.message}"
    reports = sorted((s.result() for s in states.values()), key=lambda r: r.rows_loaded)
    # and the file was loaded by one of them and skipped as already loaded by the other
    assert [r.rows_loaded for r in reports] == [0, 3]
    assert reports[0].files_already_loaded == 1
    assert _events_in(home) == 3


def test_a_writer_that_cannot_get_the_warehouse_fails_cleanly_naming_the_holder(
        prefect_harness, home, inbox, tmp_path):
    # given a loaded warehouse, and another process holding it for a long run
    assert ingest(IngestSettings(home=str(home.root), inbox=str(inbox)), return_state=True).is_completed()
    (inbox / "batch-002.jsonl").write_text(json.dumps(_event("e-5", "cookie-cccc-0003")) + "\n")
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from core.locking import warehouse_writer_lock
        with warehouse_writer_lock({str(home.warehouse_path)!r}, {str(home.locks_dir)!r},
                                   run_name="train-2026-03-02", run_id="abc-123"):
            print("holding", flush=True)
            time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        # when an ingest run is willing to wait one second
        state = ingest(IngestSettings(home=str(home.root), inbox=str(inbox), lock_wait_seconds=1),
                       return_state=True)
    finally:
        holder.kill()
        holder.wait()
    # then it failed with a message naming the run that held the warehouse
    assert state.is_failed()
    message = state.message + repr(state.result(raise_on_failure=False))
    assert "train-2026-03-02" in message and "abc-123" in message, message
    assert "could not set lock" not in message.lower()
    # and the warehouse is as it was: the new file was not half loaded
    assert _events_in(home) == 3
    # and a rerun once the warehouse is free loads the new file
    rerun = ingest(IngestSettings(home=str(home.root), inbox=str(inbox)), return_state=True)
    assert rerun.is_completed() and rerun.result().rows_loaded == 1
    assert _events_in(home) == 4


@pytest.fixture(scope="module")
def tiny_world(tmp_path_factory):
    """A small simulated world with planted faults: enough persons to train and export."""
    out = tmp_path_factory.mktemp("world") / "world"
    simulate_world(out, WorldSettings(persons=3000, days=90, end=WORLD_END, faults=True,
                                      files_per_format=1))
    return out


@pytest.fixture(scope="module")
def pipeline_home(tmp_path_factory):
    return NorrutHome.resolve(tmp_path_factory.mktemp("pipeline") / "home")


@pytest.fixture(scope="module")
def first_pipeline_run(prefect_harness, tiny_world, pipeline_home):
    """The pipeline run once on the tiny world, into a fresh home (trains the first model)."""
    return pipeline(PipelineSettings(home=str(pipeline_home.root), inbox=str(tiny_world / "inbox"),
                                     catalog=str(tiny_world / "catalog.csv")),
                    return_state=True)


@pytest.mark.slow
def test_pipeline_runs_the_chain_and_publishes_its_summary(first_pipeline_run, pipeline_home):
    # given the pipeline run on a fresh home without an as-of date
    state = first_pipeline_run
    # then it completed for the day after the last event, training a first champion
    assert state.is_completed(), state.message
    result = state.result()
    assert result.as_of == date(2026, 11, 2)
    assert result.training is not None and result.training.promotion.decision == "champion"
    # and it wrote segment files with their manifests under the home's exports
    assert result.export_folder.parent.parent == pipeline_home.exports_dir
    manifests = sorted(result.export_folder.glob("*/manifest.json"))
    assert manifests, f"no segment written in {result.export_folder}"
    assert (manifests[0].parent / "generic.csv").is_file()
    # and the run is named after its as-of date
    run_id = state.state_details.flow_run_id
    assert _flow_run(run_id).name == "pipeline-2026-11-02"
    # and its summary says what was loaded, quarantined, trained, written and skipped
    summary = _artifacts_of(run_id)["pipeline-summary"]
    for expected in ("# Pipeline as of 2026-11-02", "### Quarantined rows by reason",
                     "pii_email", "unreadable_file", "**Promoted**", "no champion yet",
                     "### Written", str(result.export_folder)):
        assert expected in summary, f"{expected!r} missing from the summary:\n{summary}"
    if result.export.segments_skipped:
        assert "### Skipped" in summary


@pytest.mark.slow
def test_a_rerun_keeps_a_fresh_champion_and_says_why(first_pipeline_run, pipeline_home):
    # given the champion trained by the first run, minutes ago
    assert first_pipeline_run.is_completed()
    # when a later pipeline run asks whether training is due, then it is not
    from flows.settings import training_due
    from flows.steps import champion_trained_at

    trained_at = champion_trained_at.function(pipeline_home.mlflow_tracking_uri)
    due, why = training_due(trained_at, datetime.now(UTC), retrain_after_days=7)
    assert not due and "within 7 days" in why, why


@pytest.mark.slow
def test_norrut_pipeline_rerun_loads_nothing_twice_and_says_where_to_look(
        first_pipeline_run, pipeline_home, tiny_world, tmp_path):
    # given a home where the pipeline has run, and no Prefect server configured
    assert first_pipeline_run.is_completed()
    events_before = _events_in(pipeline_home)
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    env.update(NORRUT_HOME=str(pipeline_home.root), PREFECT_HOME=str(tmp_path / "prefect"))
    # when the CLI runs the pipeline again for the same date (on Prefect's temporary server)
    done = subprocess.run(
        [NORRUT, "pipeline", "--inbox", str(tiny_world / "inbox"),
         "--catalog", str(tiny_world / "catalog.csv"), "--as-of", "2026-11-02"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=400)
    # then it succeeded without trying to send telemetry
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "telemetry" not in output.lower(), output
    # and loaded nothing twice, kept the fresh champion and wrote a second export version
    assert _events_in(pipeline_home) == events_before
    from models.registry import list_versions

    versions = list_versions(pipeline_home.mlflow_tracking_uri, "curious-about-working-here")
    assert len(versions) == 1, "a champion trained minutes ago must not be retrained"
    second_export = pipeline_home.exports_dir / "2026-11-02" / "v2"
    assert sorted(second_export.glob("*/manifest.json")), f"no segment in {second_export}"
    # and it printed that folder and the commands that open the three UIs
    assert f"Segment files:   {second_export}" in done.stdout, output
    assert "PREFECT_SERVER_ANALYTICS_ENABLED=false uv run --locked prefect server start" \
        in done.stdout
    assert f"mlflow ui --backend-store-uri {pipeline_home.mlflow_tracking_uri}" in done.stdout
    assert f"norrut --home {pipeline_home.root} serve" in done.stdout


@pytest.mark.slow
def test_norrut_pipeline_on_a_busy_warehouse_fails_with_one_clear_line(home, inbox, tmp_path):
    # given another run holding the warehouse
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from core.locking import warehouse_writer_lock
        with warehouse_writer_lock({str(home.warehouse_path)!r}, {str(home.locks_dir)!r},
                                   run_name="score-and-export-2026-11-02", run_id="def-456"):
            print("holding", flush=True)
            time.sleep(120)
    """)], stdout=subprocess.PIPE, text=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    env.update(NORRUT_HOME=str(home.root), PREFECT_HOME=str(tmp_path / "prefect"))
    try:
        assert holder.stdout.readline().strip() == "holding"
        # when the CLI runs the pipeline, willing to wait one second
        done = subprocess.run(
            [NORRUT, "pipeline", "--inbox", str(inbox), "--lock-wait-seconds", "1"],
            cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=300)
    finally:
        holder.kill()
        holder.wait()
    # then it fails with a line naming the run holding the warehouse, and no DuckDB lock error
    assert done.returncode == 2, done.stdout + done.stderr
    assert "The pipeline run failed: WarehouseBusyError" in done.stdout, done.stdout
    assert "score-and-export-2026-11-02" in done.stdout, done.stdout
    assert "could not set lock" not in (done.stdout + done.stderr).lower()
    # and nothing was written
    assert not home.warehouse_path.exists()


@pytest.mark.slow
def test_the_scheduled_flows_each_publish_their_summary(
        first_pipeline_run, pipeline_home, tiny_world):
    # given a home where the pipeline has run (placed last: it adds a model version)
    assert first_pipeline_run.is_completed()
    from flows.build_features import build_features
    from flows.optout import optout
    from flows.score_and_export import score_and_export
    from flows.train import train

    common = {"home": str(pipeline_home.root), "as_of": date(2026, 11, 2)}
    # when each flow the deployments schedule runs on its own
    states = {
        "features-summary": build_features(FeatureSettings(**common), return_state=True),
        "training-summary": train(TrainSettings(**common), return_state=True),
        "segments-summary": score_and_export(ScoreAndExportSettings(**common),
                                             return_state=True),
        "optout-summary": optout(OptoutSettings(home=str(pipeline_home.root),
                                                optouts_csv=str(tiny_world / "optouts.csv")),
                                 return_state=True),
    }
    # then each completed, is named after its date, and published what it did
    expected_text = {
        "features-summary": "## Features as of 2026-11-02",
        "training-summary": "| test metric | this version | champion v1 | baseline |",
        "segments-summary": "## Segments as of 2026-11-02",
        "optout-summary": "person(s) asked to opt out",
    }
    for key, state in states.items():
        assert state.is_completed(), f"{key}: {state.message}"
        run_id = state.state_details.flow_run_id
        summary = _artifacts_of(run_id)[key]
        assert expected_text[key] in summary, f"{key}:\n{summary}"
        name = _flow_run(run_id).name
        assert name.endswith("2026-11-02") or key == "optout-summary", name
