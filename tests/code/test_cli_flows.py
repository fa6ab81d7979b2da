"""With a Prefect server configured (PREFECT_API_URL), every `norrut` command that writes runs
as a flow run of it, named after its date; without one it runs directly (tests/code/
test_direct_runs.py). Either way a command that fails says so in one line (exit code 2),
never with a traceback."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from activation_fixtures import (
    AS_OF,
    build_warehouse,
    copy_champion_into,
    make_population,
    shared_champion_store,
)
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowFilter, FlowFilterName
from typer.testing import CliRunner

from norrut.cli.app import build_app
from tests.event_files import bad_event, good_event, write_jsonl

NORRUT = str(Path(sys.executable).with_name("norrut"))
SEGMENTS = {
    "min_audience_size": 20,
    "segments": [
        {"name": "top-half", "description": "The upper half.", "select": {"top_deciles": 5}},
        {"name": "tiny", "description": "Too small to send.", "select": {"top_k": 10}},
    ],
}


@pytest.fixture(scope="module")
def champion_store(tmp_path_factory):
    return shared_champion_store(tmp_path_factory)


@pytest.fixture
def on_the_server(prefect_harness, monkeypatch):
    """PREFECT_API_URL naming the harness's server, so a command runs as its flow run."""
    monkeypatch.setenv("PREFECT_API_URL", prefect_harness)
    return prefect_harness


def _norrut(*args: str):
    return CliRunner().invoke(build_app(), list(args))


def _settings_of(run) -> dict:
    """The job's settings a flow run was given (its one parameter)."""
    return run.parameters.get("settings") or {}


def _runs_of(flow_name: str, home) -> list:
    """The flow runs of one flow that worked on this test's home, newest first."""
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])))
    mine = [run for run in runs if _settings_of(run).get("home") == str(home.root)]
    return sorted(mine, key=lambda run: run.created, reverse=True)


def _assert_one_error_line(result, *expected: str) -> str:
    output = result.output.strip()
    assert result.exit_code == 2, result.output
    assert len(output.splitlines()) == 1, f"expected one line, got:\n{result.output}"
    assert output.startswith("error:"), output
    assert "Traceback" not in output and "could not set lock" not in output.lower(), output
    for text in expected:
        assert text in output, f"{text!r} missing from {output!r}"
    return output


@contextmanager
def _held_warehouse(home, run_name: str, open_duckdb: bool = False) -> Iterator[None]:
    """Another process holding the warehouse writer lock (and, if asked, DuckDB's file)."""
    opening = (f"import duckdb; con = duckdb.connect({str(home.warehouse_path)!r})"
               if open_duckdb else "")
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from core.locking import warehouse_writer_lock
        with warehouse_writer_lock({str(home.warehouse_path)!r}, {str(home.locks_dir)!r},
                                   run_name={run_name!r}, run_id="abc-123"):
            {opening}
            print("holding", flush=True)
            time.sleep(120)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        yield
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


def _inbox(tmp_path) -> Path:
    write_jsonl(tmp_path / "inbox" / "a.jsonl", [good_event(1), good_event(2),
                                                 bad_event(3, "bad_device")])
    return tmp_path / "inbox"


def test_ingest_and_optout_run_as_flow_runs_named_after_the_day(on_the_server, home,
                                                                 tmp_path):
    # given an inbox with two good rows and a bad one, and an opt-out file
    inbox = _inbox(tmp_path)
    optouts = tmp_path / "optouts.csv"
    optouts.write_text("person_id,requested_at,kind\n"
                       f"{good_event(1)['person_id']},2026-03-02T10:00:00Z,erasure\n")
    # when both commands run
    ingested = _norrut("ingest", str(inbox))
    opted_out = _norrut("optout", str(optouts))
    # then they printed their summaries as before
    assert ingested.exit_code == 0, ingested.output
    assert "Ingest summary" in ingested.output and "bad_device" in ingested.output
    # the two good rows loaded and the bad one quarantined, from the same file
    assert re.search(r"rows loaded\s*│\s*2 ", ingested.output), ingested.output
    assert re.search(r"rows quarantined\s*│\s*1 ", ingested.output), ingested.output
    assert opted_out.exit_code == 0, opted_out.output
    assert "Opt-outs applied" in opted_out.output
    # and each left one completed flow run in Prefect, named after the day it ran
    today = datetime.now(UTC).date().isoformat()
    for flow_name in ("ingest", "optout"):
        runs = _runs_of(flow_name, home)
        assert len(runs) == 1, f"{flow_name}: {[r.name for r in runs]}"
        assert runs[0].state.is_completed(), runs[0].state
        assert runs[0].name == f"{flow_name}-{today}", runs[0].name
    # and the summaries are the runs' artifacts, not files in the home
    assert not (home.root / "reports").exists()


def test_strict_ingest_fails_its_flow_run_but_prints_the_summary(on_the_server, home,
                                                                  tmp_path):
    # given an inbox with a quarantined row, when ingested with --strict
    result = _norrut("ingest", str(_inbox(tmp_path)), "--strict")
    # then the command prints what it loaded and exits 1, and the run is failed in Prefect
    assert result.exit_code == 1, result.output
    assert "Ingest summary" in result.output and "bad_device" in result.output
    assert "Traceback" not in result.output
    runs = _runs_of("ingest", home)
    assert len(runs) == 1 and runs[0].state.is_failed(), runs


def test_score_and_export_run_as_flow_runs_named_after_the_as_of_date(
        on_the_server, home, champion_store, tmp_path):
    # given a home with features and a champion
    build_warehouse(home.warehouse_path, make_population(300))
    copy_champion_into(champion_store, home.mlflow_dir)
    segments = tmp_path / "segments.yaml"
    segments.write_text(json.dumps(SEGMENTS), encoding="utf-8")
    # when scoring, with --out and --model-name, then exporting into another folder
    scored = _norrut("score", "--as-of", AS_OF.isoformat(), "--out", str(tmp_path / "s.csv"),
                     "--model-name", "curious-about-working-here")
    exported = _norrut("export", "--as-of", AS_OF.isoformat(), "--segments-file", str(segments),
                       "--exports-dir", str(tmp_path / "exports"))
    # then both printed their summary tables and wrote their files
    assert scored.exit_code == 0, scored.output
    assert "persons scored" in scored.output and "300" in scored.output
    assert (tmp_path / "s.csv").read_text().startswith("person_id,id_type,score,rank,decile")
    assert exported.exit_code == 0, exported.output
    assert "1 segment(s) written, 1 skipped" in exported.output, exported.output
    assert (tmp_path / "exports" / AS_OF.isoformat() / "v1" / "run.json").is_file()
    # and each left a completed flow run named after the as-of date
    for flow_name in ("score", "export"):
        runs = _runs_of(flow_name, home)
        assert len(runs) == 1, f"{flow_name}: {[r.name for r in runs]}"
        assert runs[0].state.is_completed(), runs[0].state
        assert runs[0].name == f"{flow_name}-{AS_OF.isoformat()}", runs[0].name


def test_a_missing_inbox_is_one_line_and_starts_no_run(on_the_server, home, tmp_path):
    result = _norrut("ingest", str(tmp_path / "nowhere"))
    _assert_one_error_line(result, "nowhere")
    assert _runs_of("ingest", home) == []


def test_scoring_without_a_champion_is_one_line_and_a_failed_run(on_the_server, home):
    # given a warehouse with features but no model at all
    build_warehouse(home.warehouse_path, make_population(50))
    # when scoring, then one line says so, exit 2, and the run is failed in Prefect
    _assert_one_error_line(_norrut("score", "--as-of", AS_OF.isoformat()), "champion")
    runs = _runs_of("score", home)
    assert len(runs) == 1 and runs[0].state.is_failed(), runs
    # and exporting a date that was never scored also says what to run, in one line
    _assert_one_error_line(_norrut("export", "--as-of", AS_OF.isoformat()), "norrut score")


def test_without_a_server_scoring_without_a_champion_is_one_line_too(home):
    # given a warehouse with features but no model, and no Prefect server configured
    build_warehouse(home.warehouse_path, make_population(50))
    # when scoring directly, then one line says so, exit 2, and no summary was written
    _assert_one_error_line(_norrut("score", "--as-of", AS_OF.isoformat()), "champion")
    assert not (home.root / "reports" / "score").exists()


def test_a_busy_warehouse_is_one_line_naming_the_holder(on_the_server, home, tmp_path):
    # given a loaded warehouse, and another process holding it
    inbox = _inbox(tmp_path)
    assert _norrut("ingest", str(inbox)).exit_code == 0
    with _held_warehouse(home, "train-2026-03-02"):
        # when a writer is willing to wait one second
        ingested = _norrut("ingest", str(inbox), "--lock-wait-seconds", "1")
        opted = _norrut("optout", str(inbox / "a.jsonl"), "--lock-wait-seconds", "1")
        exported = _norrut("export", "--as-of", "2026-03-02", "--lock-wait-seconds", "1")
    # then each says in one line who holds the warehouse
    for result in (ingested, opted, exported):
        _assert_one_error_line(result, "train-2026-03-02", "abc-123")
    # and the ingest run that gave up is failed in Prefect, the first one completed
    states = [run.state for run in _runs_of("ingest", home)]
    assert [s.is_failed() for s in states] == [True, False], states


def test_without_a_server_a_busy_warehouse_is_one_line_naming_the_holder(home, tmp_path):
    # given a loaded warehouse, no Prefect server configured, and another process holding it
    inbox = _inbox(tmp_path)
    assert _norrut("ingest", str(inbox)).exit_code == 0
    with _held_warehouse(home, "train-2026-03-02"):
        # when the commands, run directly, are willing to wait one second
        ingested = _norrut("ingest", str(inbox), "--lock-wait-seconds", "1")
        exported = _norrut("export", "--as-of", "2026-03-02", "--lock-wait-seconds", "1")
    # then each says in one line who holds the warehouse: they wait for the same lock
    for result in (ingested, exported):
        _assert_one_error_line(result, "train-2026-03-02", "abc-123")
    # and only the first ingest, which got the warehouse, wrote a summary
    assert len(list((home.root / "reports" / "ingest").glob("2*.md"))) == 1


def test_status_while_a_writer_holds_the_file_names_the_writer(home, tmp_path):
    # given a warehouse, and a writer process with DuckDB's file open
    with open_and_close(home):
        pass
    with _held_warehouse(home, "ingest-2026-11-23", open_duckdb=True):
        # when reading the status
        result = _norrut("status")
    # then one line names the run writing the warehouse
    _assert_one_error_line(result, "ingest-2026-11-23", "abc-123")


@contextmanager
def open_and_close(home) -> Iterator[None]:
    from warehouse.db import open_warehouse

    with open_warehouse(home.warehouse_path):
        yield


@pytest.mark.slow
def test_a_norrut_process_records_its_run_on_the_configured_server(prefect_harness, home,
                                                                    tmp_path):
    # given a Prefect server (the harness's), named to the process by PREFECT_API_URL
    env = {**os.environ, "PREFECT_API_URL": prefect_harness, "NORRUT_HOME": str(home.root)}
    # when `norrut ingest` runs as a separate process
    done = subprocess.run([NORRUT, "ingest", str(_inbox(tmp_path))], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, check=False)
    # then it succeeded, printed only its summary, and its run is on that server
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Ingest summary" in done.stdout
    assert "prefect" not in done.stderr.lower(), done.stderr
    runs = _runs_of("ingest", home)
    assert len(runs) == 1 and runs[0].state.is_completed(), runs
    # with its summary as the run's artifact, not as a file in the home
    assert not (home.root / "reports").exists()


def _world(home) -> None:
    from worlds import write_world

    write_world(home.warehouse_path, n_persons=2000, n_days=70)


def test_features_build_and_a_refused_train_run_as_flow_runs(on_the_server, home):
    # given a warehouse holding a synthetic world's events
    _world(home)
    # when building features for a date, then training with an impossible minimum
    built = _norrut("features", "build", "--as-of", "2026-03-12")
    refused = _norrut("train", "--as-of", "2026-03-12", "--min-positives", "100000")
    # then the build printed what it built, and its run is named after the date
    assert built.exit_code == 0, built.output
    assert "as of 2026-03-12" in built.output, built.output
    runs = _runs_of("build-features", home)
    assert [(r.name, r.state.is_completed()) for r in runs] == [
        ("build-features-2026-03-12", True)], runs
    # and the refused training said why in one line, and its run is failed in Prefect
    assert refused.exit_code == 2, refused.output
    assert len(refused.output.strip().splitlines()) == 1, refused.output
    assert "too few positive examples" in refused.output and "Traceback" not in refused.output
    runs = _runs_of("train", home)
    assert [(r.name, r.state.is_failed()) for r in runs] == [("train-2026-03-12", True)], runs
    assert _settings_of(runs[0])["min_positives"] == 100000


@pytest.mark.slow
def test_train_passes_every_option_to_its_flow_run(on_the_server, home):
    # given a warehouse holding a synthetic world's events
    _world(home)
    # when training through the CLI with options beyond the defaults
    trained = _norrut("train", "--as-of", "2026-03-12", "--min-positives", "30",
                      "--n-training-snapshots", "3", "--horizon-days", "10", "--intent-types",
                      "job_click,inquiry", "--json")
    # then it registered and promoted a first model, printing the result as JSON
    assert trained.exit_code == 0, trained.output
    result = json.loads(trained.stdout)
    assert result["version"] == "1" and result["promotion"]["decision"] == "champion", result
    # and the flow run, named after the date, carries those options as its parameters
    runs = _runs_of("train", home)
    assert [(r.name, r.state.is_completed()) for r in runs] == [("train-2026-03-12", True)]
    parameters = _settings_of(runs[0])
    assert (parameters["min_positives"], parameters["n_training_snapshots"],
            parameters["horizon_days"], parameters["intent_types"]) == (
        30, 3, 10, ["job_click", "inquiry"]), parameters


FLOW_RUN_OF_INGEST = """
import sys
from flows.ingest import ingest
from flows.run import run_flow
from warehouse.settings import IngestSettings
report = run_flow(ingest, IngestSettings(inbox=sys.argv[1]), quiet=True)
print("loaded", report.rows_loaded)
"""


@pytest.mark.slow
@pytest.mark.server
def test_two_first_runs_at_once_on_a_fresh_prefect_home_both_succeed(tmp_path):
    # given a fresh PREFECT_HOME, no Prefect server configured, and two Norrut homes
    inbox = _inbox(tmp_path)
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(tmp_path / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    # when two ingest flow runs start at the same moment in two processes (each starts
    # Prefect's temporary server, which migrates the new database as it starts)
    processes = [subprocess.Popen([sys.executable, "-c", FLOW_RUN_OF_INGEST, str(inbox)],
                                  cwd=tmp_path,
                                  env={**env, "NORRUT_HOME": str(tmp_path / f"home-{index}")},
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for index in (1, 2)]
    outputs = [process.communicate(timeout=400) for process in processes]
    # then both loaded their files, and neither crashed
    for process, (stdout, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stdout + stderr
        assert "loaded 2" in stdout, stdout + stderr
        assert "Traceback" not in stderr and "duplicate column" not in stderr, stderr
    # and both runs are in the one PREFECT_HOME given, none in the Norrut homes
    assert (tmp_path / "prefect" / "prefect.db").is_file()
    assert not list(tmp_path.glob("home-*/prefect"))
