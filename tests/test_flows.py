"""The flows under Prefect's test harness: what they load, the summaries they publish, their
run names, and one writer at a time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from datetime import date
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    FlowRunFilter,
    FlowRunFilterId,
)
from prefect.testing.utilities import prefect_test_harness

from flows.ingest import ingest
from flows.pipeline import pipeline
from norrut.home import NorrutHome
from simulator.world import WorldSettings, simulate_world
from warehouse.db import open_warehouse

REPO_ROOT = Path(__file__).resolve().parents[1]
NORRUT = str(Path(sys.executable).with_name("norrut"))
# The simulator's default last day of events; the pipeline's default as-of is the day after.
WORLD_END = date(2026, 11, 1)


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect server and database for every flow test."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    with prefect_test_harness(server_startup_timeout=120):
        yield


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
    state = ingest(home=str(home.root), inbox=str(inbox), return_state=True)
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
        states[label] = ingest(home=str(home.root), inbox=str(inbox), return_state=True)

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
    assert ingest(home=str(home.root), inbox=str(inbox), return_state=True).is_completed()
    (inbox / "batch-002.jsonl").write_text(json.dumps(_event("e-5", "cookie-cccc-0003")) + "\n")
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from norrut.locking import warehouse_writer_lock
        with warehouse_writer_lock({str(home.warehouse_path)!r}, {str(home.locks_dir)!r},
                                   run_name="train-2026-03-02", run_id="abc-123"):
            print("holding", flush=True)
            time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        # when an ingest run is willing to wait one second
        state = ingest(home=str(home.root), inbox=str(inbox), lock_wait_seconds=1,
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
    rerun = ingest(home=str(home.root), inbox=str(inbox), return_state=True)
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
    return pipeline(home=str(pipeline_home.root), inbox=str(tiny_world / "inbox"),
                    catalog=str(tiny_world / "catalog.csv"), return_state=True)


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
def test_a_rerun_loads_nothing_twice_and_keeps_the_fresh_champion(
        first_pipeline_run, pipeline_home, tiny_world):
    # given a pipeline that has already run on this inbox
    assert first_pipeline_run.is_completed()
    events_before = _events_in(pipeline_home)
    # when it runs again for the same date
    state = pipeline(home=str(pipeline_home.root), inbox=str(tiny_world / "inbox"),
                     catalog=str(tiny_world / "catalog.csv"), as_of=date(2026, 11, 2),
                     return_state=True)
    # then nothing is loaded twice, the fresh champion is kept, and a new export version is made
    assert state.is_completed(), state.message
    result = state.result()
    assert result.ingest.rows_loaded == 0 and _events_in(pipeline_home) == events_before
    assert result.training is None, "a champion trained minutes ago must not be retrained"
    assert "within 7 days" in result.training_reason
    assert result.export.version == 2
    summary = _artifacts_of(state.state_details.flow_run_id)["pipeline-summary"]
    assert "No training: the champion was trained" in summary, summary


@pytest.mark.slow
def test_norrut_pipeline_command_runs_the_flow_and_says_where_to_look(
        first_pipeline_run, pipeline_home, tiny_world, tmp_path):
    # given a home where the pipeline has run, and no Prefect server configured
    assert first_pipeline_run.is_completed()
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    env.update(NORRUT_HOME=str(pipeline_home.root), PREFECT_HOME=str(tmp_path / "prefect"))
    # when the CLI runs the pipeline (on Prefect's temporary server)
    done = subprocess.run(
        [NORRUT, "pipeline", "--inbox", str(tiny_world / "inbox"), "--as-of", "2026-11-02"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    # then it succeeded without trying to send telemetry, and printed the segment folder
    # and the commands that open the three UIs
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "telemetry" not in output.lower(), output
    assert f"Segment files:   {pipeline_home.exports_dir / '2026-11-02'}" in done.stdout, output
    assert "prefect server start" in done.stdout
    assert f"mlflow ui --backend-store-uri {pipeline_home.mlflow_tracking_uri}" in done.stdout
    assert "norrut" in done.stdout and " serve" in done.stdout


def test_norrut_pipeline_fails_cleanly_on_a_missing_inbox(home, tmp_path):
    # given an inbox folder that does not exist
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    env.update(NORRUT_HOME=str(home.root), PREFECT_HOME=str(tmp_path / "prefect"))
    # when the CLI runs the pipeline
    done = subprocess.run([NORRUT, "pipeline", "--inbox", str(tmp_path / "nowhere")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    # then it fails with one clear line, not a traceback from our code
    assert done.returncode == 1, done.stdout + done.stderr
    assert "The pipeline run failed:" in done.stdout and "nowhere" in done.stdout, done.stdout
