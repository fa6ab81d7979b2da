"""Screenshots of the three UIs a new user meets, for docs/first-hour.md (`make screenshots`).

Builds a small world of its own in a temporary folder (`norrut simulate`, `norrut pipeline`,
and one more `norrut train --no-promote` so there are two training runs to compare), then
starts, on free localhost ports and only for the time it takes: a Prefect server with a
throw-away PREFECT_HOME onto which prefect.yaml is deployed, the MLflow UI on that home's
MLflow store, and `norrut serve` on that home with an account added for the pictures.
Headless Chromium (Debian's, driven by Playwright) photographs the Prefect deployments page,
MLflow's runs table, and the portal's sign-in, audiences and first segment page. Every server
it started is stopped again, also when something fails; nothing outside `--out` is written.

    uv run --locked python docs/screenshots/take.py [--out docs/screenshots] [--persons 3000]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update"]
VIEWPORT = {"width": 1400, "height": 900}
BIN = Path(sys.executable).parent
EXPERIMENT = "norrut-propensity"
# Fewer persons than this leave too few positives in the test set for training to start.
DEFAULT_PERSONS = 3000
SCREENSHOT_USER = "anna"
SCREENSHOT_PASSWORD = "midnight sun over Luleå"
SHOTS = ("prefect-deployments.png", "mlflow-runs.png", "portal-login.png",
         "portal-audiences.png", "portal-segment.png")
# MLflow 3.x opens every experiment in its GenAI view unless the sidebar's "Model training"
# switch (this query parameter) says otherwise; its `mlflow.experimentKind` tag is ignored
# while that switch exists (checked in MLflow 3.17's UI bundle).
MLFLOW_RUNS_PAGE = "#/experiments/{experiment_id}/runs?workflowType=machine_learning"


class ScreenshotError(RuntimeError):
    """Something the screenshots need is missing or did not start."""


def take_screenshots(out_dir: Path, persons: int = DEFAULT_PERSONS) -> list[Path]:
    """Build a small world, photograph the Prefect, MLflow and portal pages of it; returns the
    files written. The servers start while the world is built (each takes half a minute)."""
    if not CHROMIUM.exists():
        raise ScreenshotError(f"{CHROMIUM} is missing: `make browser` installs it")
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="norrut-shots-") as scratch_name, \
            ExitStack() as servers:
        scratch = Path(scratch_name)
        home = scratch / "home"
        env = {**_own_environment(scratch), "NORRUT_HOME": str(home)}
        prefect_url, prefect_env = _start_prefect_server(servers, scratch)
        world = scratch / "world"
        _norrut(["simulate", str(world), "--persons", str(persons)], env)
        _norrut(["pipeline", "--inbox", str(world / "inbox"),
                 "--catalog", str(world / "catalog.csv")], env)
        # Started once the pipeline has made the MLflow store, so the two never both create it.
        mlflow_url = _start_mlflow_ui(servers, home, scratch, env)
        # A second training run, so the runs table has two to compare.
        _norrut(["train", "--no-promote"], env)
        _norrut(["users", "add", SCREENSHOT_USER, "--admin", "--password-stdin"], env,
                stdin=SCREENSHOT_PASSWORD + "\n")
        portal_url = _start_portal(servers, scratch, env)
        _deploy_prefect_yaml(prefect_env)
        for health_url in (f"{mlflow_url}/health", f"{portal_url}/login"):
            _wait_until_up(health_url)
        _photograph(out_dir, prefect_url, mlflow_url, portal_url, _training_run_names(home))
    return [out_dir / name for name in SHOTS]


def _photograph(out_dir: Path, prefect_url: str, mlflow_url: str, portal_url: str,
                run_names: dict[str, str]) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport=VIEWPORT).new_page()
            page.goto(f"{prefect_url}/deployments")
            page.get_by_text("ingest-hourly").first.wait_for(timeout=60_000)
            page.screenshot(path=out_dir / SHOTS[0])

            experiment_id = next(iter(run_names.values()))
            page.goto(mlflow_url + "/" + MLFLOW_RUNS_PAGE.format(experiment_id=experiment_id))
            # The table says "0 matching runs" until its search returns: wait for the runs.
            for run_name in run_names:
                page.get_by_text(run_name).first.wait_for(timeout=90_000)
            _close_mlflow_assistant(page)
            page.screenshot(path=out_dir / SHOTS[1])

            page.goto(f"{portal_url}/")
            page.wait_for_url(f"{portal_url}/login**")
            page.get_by_label("User name").fill(SCREENSHOT_USER)
            page.get_by_label("Password").fill(SCREENSHOT_PASSWORD)
            page.screenshot(path=out_dir / SHOTS[2], full_page=True)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{portal_url}/")
            page.screenshot(path=out_dir / SHOTS[3], full_page=True)
            page.locator("a[href^='/runs/']").first.click()
            page.wait_for_url(f"{portal_url}/runs/**")
            page.screenshot(path=out_dir / SHOTS[4], full_page=True)
        finally:
            browser.close()


def _close_mlflow_assistant(page) -> None:
    """MLflow 3.x opens an assistant panel beside the table; the picture is about the runs."""
    close = page.locator("button[aria-label='Close']").first
    if close.is_visible():
        close.click()
        page.wait_for_timeout(500)


def _own_environment(scratch: Path) -> dict[str, str]:
    """The environment without the user's Norrut, Prefect and MLflow settings, so the pictures
    show the temporary world and never a server or home of the user's."""
    kept = {name: value for name, value in os.environ.items()
            if not name.startswith(("NORRUT_", "PREFECT_", "MLFLOW_"))}
    return {**kept, "PREFECT_HOME": str(scratch / "prefect"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}


def _norrut(arguments: list[str], env: dict[str, str], stdin: str | None = None) -> None:
    done = subprocess.run([str(BIN / "norrut"), *arguments], env=env, cwd=REPO_ROOT,
                          input=stdin, capture_output=True, text=True, check=False, timeout=600)
    if done.returncode != 0:
        raise ScreenshotError(f"norrut {' '.join(arguments)} failed:\n"
                              f"{(done.stdout + done.stderr)[-3000:]}")


def _training_run_names(home: Path) -> dict[str, str]:
    """Run name → experiment id of every training run in the home's MLflow store."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{home / 'mlflow' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        raise ScreenshotError(f"the pipeline made no MLflow experiment named {EXPERIMENT!r}")
    runs = client.search_runs([experiment.experiment_id])
    if not runs:
        raise ScreenshotError(f"the MLflow experiment {EXPERIMENT!r} has no runs")
    return {run.info.run_name: experiment.experiment_id for run in runs}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(url: str) -> None:
    """Wait for a server to answer at `url`."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).is_success:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise ScreenshotError(f"nothing answered at {url} within 180 s")


def _start(servers: ExitStack, command: list[str], env: dict[str, str], log: Path) -> None:
    """Start a server in a session of its own; the stack stops it and its children."""
    output = servers.enter_context(log.open("wb"))
    process = subprocess.Popen(command, env=env, cwd=REPO_ROOT, stdout=output,
                               stderr=subprocess.STDOUT, start_new_session=True)
    servers.callback(_stop, process)


def _stop(process: subprocess.Popen) -> None:
    """Interrupt the server's whole session, then kill what is left: MLflow's job consumers
    outlive the server they belong to."""
    try:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        pass
    except ProcessLookupError:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=10)


def _start_prefect_server(servers: ExitStack, scratch: Path) -> tuple[str, dict[str, str]]:
    """A Prefect server of its own; returns its URL and the environment that talks to it."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**_own_environment(scratch), "PREFECT_HOME": str(scratch / "prefect-server"),
           "PREFECT_API_URL": f"{url}/api", "PREFECT_CLI_PROMPT": "false"}
    _start(servers, [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1",
                     "--port", str(port)], env, scratch / "prefect.log")
    return url, env


def _deploy_prefect_yaml(env: dict[str, str]) -> None:
    """Every deployment of prefect.yaml, on the work pool the README has the user create."""
    _wait_until_up(env["PREFECT_API_URL"] + "/health")
    for step in (["work-pool", "create", "norrut-process", "--type", "process"],
                 ["--no-prompt", "deploy", "--all"]):
        done = subprocess.run([str(BIN / "prefect"), *step], env=env, cwd=REPO_ROOT,
                              capture_output=True, text=True, check=False, timeout=300)
        if done.returncode != 0:
            raise ScreenshotError(f"prefect {' '.join(step)} failed:\n{done.stderr[-2000:]}")


def _start_mlflow_ui(servers: ExitStack, home: Path, scratch: Path,
                     env: dict[str, str]) -> str:
    """The MLflow UI on the home's store; returns its URL."""
    port = _free_port()
    store = f"sqlite:///{home / 'mlflow' / 'mlflow.db'}"
    # The UI's background job runner is not needed for looking at runs.
    _start(servers, [str(BIN / "mlflow"), "ui", "--backend-store-uri", store,
                     "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
           {**env, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}, scratch / "mlflow.log")
    return f"http://127.0.0.1:{port}"


def _start_portal(servers: ExitStack, scratch: Path, env: dict[str, str]) -> str:
    """`norrut serve` on the home; returns its URL."""
    port = _free_port()
    _start(servers, [str(BIN / "norrut"), "serve", "--host", "127.0.0.1", "--port", str(port)],
           env, scratch / "portal.log")
    return f"http://127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "screenshots",
                        help="folder for the PNG files")
    parser.add_argument("--persons", type=int, default=DEFAULT_PERSONS,
                        help="persons in the simulated world")
    arguments = parser.parse_args()
    try:
        written = take_screenshots(arguments.out, arguments.persons)
    except ScreenshotError as problem:
        print(f"error: {problem}", file=sys.stderr)
        raise SystemExit(2) from None
    for path in written:
        print(path)


if __name__ == "__main__":
    main()
