"""A real Prefect server, work pool, deployments from prefect.yaml and a worker, as the
marketing team runs them (docs/operations.md)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).with_name("prefect"))
NORRUT = str(Path(sys.executable).with_name("norrut"))
POOL = "norrut-process"

pytestmark = [pytest.mark.server, pytest.mark.slow, pytest.mark.timeout(600)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    """Stop a process we started and everything it started (its own process group)."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory):
    """`prefect server start` on a free localhost port with its own PREFECT_HOME; yields env."""
    root = tmp_path_factory.mktemp("prefect-server")
    port = _free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(root / "prefect-home"),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_CLI_PROMPT": "false",
        "COLUMNS": "250",  # so rich prints whole deployment names in `prefect deployment ls`
        "NORRUT_HOME": str(root / "norrut-home"),
    }
    log = open(root / "server.log", "wb")  # noqa: SIM115 - closed in the finalizer below
    server = subprocess.Popen(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, (root / "server.log").read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).is_success:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the Prefect server did not start in 120 s"
            time.sleep(0.5)
        yield {"env": env, "root": root}
    finally:
        _stop(server)
        log.close()


def _prefect(env: dict, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    done = subprocess.run([PREFECT, *args], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, check=False, timeout=timeout)
    assert done.returncode == 0, f"prefect {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def deployed(prefect_server):
    """The work pool created and every deployment in prefect.yaml deployed."""
    env = prefect_server["env"]
    _prefect(env, "work-pool", "create", POOL, "--type", "process")
    _prefect(env, "--no-prompt", "deploy", "--all")
    return prefect_server


@pytest.fixture(scope="module")
def worker(deployed):
    """`prefect worker start --pool norrut-process` started from the checkout."""
    root = deployed["root"]
    log = open(root / "worker.log", "wb")  # noqa: SIM115 - closed in the finalizer below
    process = subprocess.Popen(
        [PREFECT, "worker", "start", "--pool", POOL],
        cwd=REPO_ROOT, env=deployed["env"], stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield deployed
    finally:
        _stop(process)
        log.close()


def test_every_deployment_is_deployed_with_its_schedule_and_the_checkout(deployed):
    # given the deployments from prefect.yaml on a running server
    env = deployed["env"]
    # when listing them
    listed = _prefect(env, "deployment", "ls").stdout
    # then each flow has its deployment
    for name in ("ingest/ingest-hourly", "optout/optout-on-demand",
                 "build-features/build-features-on-demand", "train/train-weekly",
                 "score-and-export/score-and-export-daily", "pipeline/pipeline-on-demand",
                 "lift/lift-on-demand"):
        assert name in listed, f"{name} missing from:\n{listed}"
    # and the daily export runs at 05:00 Swedish time, from this checkout
    inspected = _prefect(env, "deployment", "inspect",
                         "score-and-export/score-and-export-daily").stdout
    assert "'0 5 * * *'" in inspected and "'Europe/Stockholm'" in inspected, inspected
    assert f"'directory': '{REPO_ROOT}'" in inspected, inspected
    # and the cluster's deployments run their shards on the Dask scheduler (docs/scale-out.md)
    for name in ("ingest/ingest-on-cluster", "optout/optout-on-cluster",
                 "build-features/build-features-on-cluster", "pipeline/pipeline-on-cluster"):
        inspected = _prefect(env, "deployment", "inspect", name).stdout
        assert "'NORRUT_DASK_SCHEDULER': 'tcp://127.0.0.1:8786'" in inspected, inspected


def _simulate_tiny_world(out: Path, env: dict) -> None:
    done = subprocess.run([NORRUT, "simulate", str(out), "--persons", "3000", "--days", "90",
                           "--files", "1", "--faults"],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_pipeline_deployment_runs_on_a_worker_and_writes_segment_files(worker):
    # given a tiny simulated world and a worker polling the pool
    env = worker["env"]
    world = worker["root"] / "world"
    _simulate_tiny_world(world, env)
    params = {"settings": {"inbox": str(world / "inbox"), "catalog": str(world / "catalog.csv")}}
    # when the pipeline deployment is triggered and watched to the end
    run = subprocess.run(
        [PREFECT, "deployment", "run", "pipeline/pipeline-on-demand", "--params", json.dumps(params),
         "--watch", "--watch-timeout", "420"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False, timeout=480,
    )
    worker_log = (worker["root"] / "worker.log").read_text(errors="replace")
    # then the run completed
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}\n--- worker log ---\n{worker_log}"
    assert "Completed" in run.stdout, run.stdout
    # and segment files were written under the home's exports folder
    exports = Path(env["NORRUT_HOME"]) / "exports"
    written = sorted(exports.glob("*/v*/*/manifest.json"))
    assert written, f"no segment manifests under {exports}:\n{worker_log}"
    segment_files = [p for p in written[0].parent.iterdir() if p.name != "manifest.json"]
    assert segment_files, f"{written[0].parent} holds a manifest but no segment file"


def _read_deployments(env: dict) -> list[dict]:
    response = httpx.post(f"{env['PREFECT_API_URL']}/deployments/filter", json={}, timeout=30)
    response.raise_for_status()
    return response.json()


def test_deployments_have_unique_names_that_say_what_they_do_and_stage_tags(deployed):
    # given every deployment of prefect.yaml on a running server
    deployments = _read_deployments(deployed["env"])
    names = [deployment["name"] for deployment in deployments]
    # then no two share a name, and none is a bare schedule word
    assert len(names) == len(set(names)), f"deployment names repeat: {sorted(names)}"
    assert not {"on-demand", "hourly", "daily", "weekly"} & set(names), names
    # and each carries the norrut tag and one stage tag
    for deployment in deployments:
        tags = set(deployment["tags"])
        assert "norrut" in tags and len(tags) >= 2, f"{deployment['name']}: tags {tags}"


@pytest.fixture
def webhook_receiver():
    """A local HTTP endpoint that records the JSON bodies POSTed to it."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    received: list[dict] = []

    class Recorder(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            received.append(json.loads(self.rfile.read(length) or b"{}"))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/alert", received
    finally:
        server.shutdown()
        server.server_close()


def test_a_failing_deployment_run_fires_the_failure_alert(worker, webhook_receiver):
    # given the failure alert pointed at a local webhook
    env = worker["env"]
    url, received = webhook_receiver
    added = subprocess.run([NORRUT, "alerts", "add", "--webhook", url], cwd=REPO_ROOT, env=env,
                           capture_output=True, text=True, check=False, timeout=120)
    assert added.returncode == 0, added.stdout + added.stderr
    # when a deployment run fails (an opt-out file that does not exist)
    params = {"settings": {"optouts_csv": str(worker["root"] / "no-such-optouts.csv"),
                           "lock_wait_seconds": 5}}
    run = subprocess.run(
        [PREFECT, "deployment", "run", "optout/optout-on-demand", "--params", json.dumps(params),
         "--watch", "--watch-timeout", "240"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False, timeout=300)
    assert run.returncode != 0, f"the run was expected to fail:\n{run.stdout}\n{run.stderr}"
    # then the webhook is told, naming the flow and the failure
    deadline = time.monotonic() + 120
    while not received and time.monotonic() < deadline:
        time.sleep(1)
    assert received, "the automation sent nothing within 120 s of the failed run"
    message = received[0]
    assert "optout" in message["subject"] and "failed" in message["subject"], message
    assert "no-such-optouts.csv" in message["text"] or "does not exist" in message["text"], message


def test_a_run_waits_for_the_warehouse_slot_held_on_the_server(worker):
    from prefect.concurrency.sync import concurrency
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from core.home import NorrutHome
    from flows.common import writer_limit_name

    # given the warehouse's concurrency limit on the server, its one slot held by someone else
    env = worker["env"]
    name = writer_limit_name(NorrutHome.resolve(env["NORRUT_HOME"]))
    listed = subprocess.run([PREFECT, "gcl", "ls"], env=env, capture_output=True, text=True,
                            check=False, timeout=60).stdout
    if name not in listed:
        _prefect(env, "gcl", "create", name, "--limit", "1")
    params = {"settings": {"as_of": "2026-10-01", "lock_wait_seconds": 3}}
    with (temporary_settings({PREFECT_API_URL: env["PREFECT_API_URL"]}),
          concurrency(name, occupy=1, strict=True)):
        # when a writing deployment runs meanwhile
        run = subprocess.run(
            [PREFECT, "deployment", "run", "build-features/build-features-on-demand",
             "--params", json.dumps(params), "--watch", "--watch-timeout", "240"],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False, timeout=300)
    # then it waited for that slot, not for the file lock, and gave up naming the limit
    worker_log = (worker["root"] / "worker.log").read_text(errors="replace")
    assert run.returncode != 0, f"{run.stdout}\n{run.stderr}"
    assert f"the slot of concurrency limit {name}" in worker_log, worker_log[-4000:]
