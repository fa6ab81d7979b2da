"""Without a Prefect server configured, a `norrut` command runs its job directly: no Prefect
imported, no server started, no Prefect database written, the same writer lock, and the run's
summary written to <home>/reports/<job>/. `norrut pipeline`'s temporary server keeps each
Norrut home's runs in that home's own Prefect database."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.event_files import bad_event, good_event, write_jsonl

NORRUT = str(Path(sys.executable).with_name("norrut"))
# What a Prefect server or its temporary one runs as, in a process's command line.
SERVER_MARKERS = ("prefect server", "uvicorn", "prefect.server")


def _without_prefect(tmp_path: Path, home: Path) -> dict[str, str]:
    """The environment of a user with no Prefect setting at all, PREFECT_HOME aside."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    env.update(NORRUT_HOME=str(home), PREFECT_HOME=str(tmp_path / "prefect-home"),
               PREFECT_SERVER_ANALYTICS_ENABLED="false")
    return env


def _descendants(pid: int) -> dict[int, str]:
    """The command lines of every living process below `pid` (read from /proc)."""
    children: dict[int, list[int]] = {}
    commands: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except (OSError, IndexError, ValueError):
            continue  # the process ended while being read
        children.setdefault(parent, []).append(int(entry.name))
        commands[int(entry.name)] = command
    found, waiting = {}, [pid]
    while waiting:
        for child in children.get(waiting.pop(), []):
            found[child] = commands[child]
            waiting.append(child)
    return found


def _run_watching_children(command: list[str], env: dict[str, str],
                           cwd: Path) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run a command to its end, noting every process it started meanwhile."""
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    seen: set[str] = set()
    while process.poll() is None:
        seen.update(_descendants(process.pid).values())
        time.sleep(0.01)
    stdout, stderr = process.communicate(timeout=60)
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr), seen


def _imported_modules(importtime_stderr: str) -> set[str]:
    """The modules a `python -X importtime` run imported, from its stderr."""
    return {line.rsplit("|", 1)[1].strip() for line in importtime_stderr.splitlines()
            if line.startswith("import time:") and "|" in line}


def test_ingest_without_a_prefect_api_runs_directly_and_writes_its_summary(tmp_path):
    # given an inbox with two good rows and a bad one, and no Prefect setting at all
    write_jsonl(tmp_path / "inbox" / "a.jsonl",
                [good_event(1), good_event(2), bad_event(3, "bad_device")])
    home = tmp_path / "home"
    env = _without_prefect(tmp_path, home)
    # when `norrut ingest` runs, its imports timed, and its child processes watched
    done, children = _run_watching_children(
        [sys.executable, "-X", "importtime", NORRUT, "ingest", str(tmp_path / "inbox")],
        env, tmp_path)
    # then it loaded the file and printed its summary
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Ingest summary" in done.stdout and "bad_device" in done.stdout, done.stdout
    # without starting any server, importing Prefect, or writing a Prefect database
    assert not [c for c in children if any(marker in c for marker in SERVER_MARKERS)], children
    imported = _imported_modules(done.stderr)
    assert "duckdb" in imported, "the importtime listing was not read"
    assert not {name for name in imported if name.split(".")[0] == "prefect"}
    assert not (tmp_path / "prefect-home").exists() and not (home / "prefect").exists()
    # and the summary a flow run publishes as its artifact is in the home, with a latest copy
    reports = home / "reports" / "ingest"
    [timestamped] = reports.glob("2*.md")
    latest = (reports / "latest.md").read_text(encoding="utf-8")
    assert timestamped.read_text(encoding="utf-8") == latest
    assert "**2** new events loaded from 1 file(s)" in latest, latest
    assert "bad_device" in latest and good_event(1)["person_id"] not in latest


PAUSED_DIRECT_INGEST = textwrap.dedent("""
    import sys
    from flows.run import run_ingest
    from warehouse.settings import IngestSettings

    def pause(done, total, what, rows=0):
        print("holding", flush=True)
        sys.stdin.readline()

    report = run_ingest(IngestSettings(inbox=sys.argv[1]), quiet=True, progress=pause)
    print("loaded", report.rows_loaded, flush=True)
""")


def test_a_direct_run_holds_the_writer_lock_in_its_own_name(tmp_path):
    # given an inbox, and no Prefect setting
    write_jsonl(tmp_path / "inbox" / "a.jsonl", [good_event(1)])
    home = tmp_path / "home"
    env = _without_prefect(tmp_path, home)
    # when a direct ingest is paused by its progress hook after its first file (so while it
    # holds the warehouse), and `norrut ingest` tries to write meanwhile
    holder = subprocess.Popen([sys.executable, "-c", PAUSED_DIRECT_INGEST,
                               str(tmp_path / "inbox")], env=env, cwd=tmp_path,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        blocked = subprocess.run(
            [NORRUT, "ingest", str(tmp_path / "inbox"), "--lock-wait-seconds", "1"], env=env,
            cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    finally:
        out, _ = holder.communicate("\n", timeout=120)
    # then the command waited for the same lock and named the direct run holding it
    assert blocked.returncode == 2, blocked.stdout + blocked.stderr
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert f"ingest-{today}, pid {holder.pid}" in blocked.stderr, blocked.stderr
    # and the paused run then finished, loading the file once
    assert holder.returncode == 0 and "loaded 1" in out, out


PIPELINE_STYLE_FLOW_RUN = textwrap.dedent("""
    import sys
    from flows.ingest import ingest
    from flows.run import run_flow
    from warehouse.settings import IngestSettings
    report = run_flow(ingest, IngestSettings(inbox=sys.argv[1], home=sys.argv[2]), quiet=True)
    print("loaded", report.rows_loaded)
""")


def _flow_runs_in(database: Path) -> list[tuple[str, str]]:
    """(flow run name, its settings' home) of every flow run in a Prefect sqlite database."""
    import json

    with sqlite3.connect(database) as con:
        rows = con.execute("select name, parameters from flow_run").fetchall()
    return [(name, json.loads(parameters)["settings"]["home"]) for name, parameters in rows]


@pytest.mark.slow
@pytest.mark.server
def test_two_homes_temporary_server_runs_land_in_two_prefect_databases(tmp_path):
    # given two Norrut homes and no Prefect setting at all, PREFECT_HOME included
    write_jsonl(tmp_path / "inbox" / "a.jsonl", [good_event(1)])
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    homes = [tmp_path / "home-1", tmp_path / "home-2"]
    # when each runs a flow as `norrut pipeline` does, on Prefect's temporary server
    for home in homes:
        done = subprocess.run([sys.executable, "-c", PIPELINE_STYLE_FLOW_RUN,
                               str(tmp_path / "inbox"), str(home)], env=env,
                              cwd=tmp_path, capture_output=True, text=True, timeout=400,
                              check=False)
        assert done.returncode == 0 and "loaded 1" in done.stdout, done.stdout + done.stderr
    # then each home's run is in that home's own Prefect database, and only there
    for home in homes:
        runs = _flow_runs_in(home / "prefect" / "prefect.db")
        assert [run_home for _, run_home in runs] == [str(home)], runs
        assert runs[0][0].startswith("ingest-20"), runs


def test_a_direct_feature_build_reports_each_step_and_writes_its_summary(home, monkeypatch):
    # given a warehouse holding a synthetic world's events, and no Prefect API configured
    from worlds import write_world

    from features.settings import FeatureSettings
    from flows.run import run_build_features

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    write_world(home.warehouse_path, n_persons=300, n_days=40)
    heard: list[tuple[int, int, str]] = []
    # when the features are built directly, a progress hook listening
    result = run_build_features(
        FeatureSettings(home=str(home.root), as_of="2026-02-01"),
        progress=lambda done, total, what, rows=0: heard.append((done, total, what)))
    # then the hook heard each step in order, ending with all of them done
    assert [done for done, _, _ in heard] == list(range(len(heard)))
    assert heard[-1] == (len(heard) - 1, len(heard) - 1, "done") and len(heard) > 2, heard
    # and the run's summary is the home's latest build-features report
    latest = (home.root / "reports" / "build-features" / "latest.md").read_text("utf-8")
    assert latest.startswith("## Features as of 2026-02-01"), latest
    assert f"**{result.persons:,}** persons" in latest
