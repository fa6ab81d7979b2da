"""Screenshots of the three UIs a new user meets, for docs/first-hour.md (`make screenshots`).

Starts, on free localhost ports and only for the time it takes: a Prefect server with a
throw-away PREFECT_HOME onto which prefect.yaml is deployed, the MLflow UI on the home's own
MLflow store, and the segment portal on the home's own exports. Headless Chromium (Debian's,
driven by Playwright) then photographs the Prefect deployments page, MLflow's runs table, and
the portal's audiences and first segment page. Reads the home; writes only the PNG files (a
temporary portal account is added for the pictures and removed afterwards).

    uv run --locked python docs/screenshots/take.py [--home .norrut] [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update"]
VIEWPORT = {"width": 1400, "height": 900}
BIN = Path(sys.executable).parent
SHOTS = ("prefect-deployments.png", "mlflow-runs.png", "portal-audiences.png",
         "portal-segment.png")


class ScreenshotError(RuntimeError):
    """Something the screenshots need is missing or did not start."""


def take_screenshots(home_root: Path | None, out_dir: Path) -> list[Path]:
    """Photograph the Prefect, MLflow and portal pages of one home; returns the files written."""
    from core.home import NorrutHome
    from models.settings import DEFAULT_EXPERIMENT

    home = NorrutHome.resolve(home_root)
    if not (home.mlflow_dir / "mlflow.db").exists() or not any(home.exports_dir.glob("*/v*")):
        raise ScreenshotError(f"{home.root} has no MLflow store or no export run yet: run "
                              "`make demo` (or `norrut pipeline`) first")
    if not CHROMIUM.exists():
        raise ScreenshotError(f"{CHROMIUM} is missing: `make browser` installs it")
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="norrut-shots-") as scratch, \
            _prefect_server(Path(scratch)) as prefect_url, \
            _mlflow_ui(home, Path(scratch)) as mlflow_url, \
            _portal(home) as (portal_url, user, password):
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                 args=CHROMIUM_ARGS)
            try:
                page = browser.new_context(viewport=VIEWPORT).new_page()
                page.goto(f"{prefect_url}/deployments")
                page.get_by_text("ingest-hourly").first.wait_for(timeout=60_000)
                page.screenshot(path=out_dir / SHOTS[0])

                experiment_id = _experiment_id(home, DEFAULT_EXPERIMENT)
                page.goto(f"{mlflow_url}/#/experiments/{experiment_id}")
                page.get_by_text("Run Name").first.wait_for(timeout=60_000)
                page.screenshot(path=out_dir / SHOTS[1])

                page.goto(f"{portal_url}/login")
                page.get_by_label("User name").fill(user)
                page.get_by_label("Password").fill(password)
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_url(f"{portal_url}/")
                page.screenshot(path=out_dir / SHOTS[2], full_page=True)
                page.locator("a[href^='/runs/']").first.click()
                page.wait_for_load_state()
                page.screenshot(path=out_dir / SHOTS[3], full_page=True)
            finally:
                browser.close()
    return [out_dir / name for name in SHOTS]


def _experiment_id(home, name: str) -> str:
    from mlflow.tracking import MlflowClient

    found = MlflowClient(tracking_uri=home.mlflow_tracking_uri).get_experiment_by_name(name)
    if found is None:
        raise ScreenshotError(f"no MLflow experiment named {name!r} in {home.mlflow_dir}")
    return found.experiment_id


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(url: str, process: subprocess.Popen, what: str, log: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ScreenshotError(f"{what} stopped while starting:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=2).is_success:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise ScreenshotError(f"{what} did not answer at {url} within 180 s")


@contextmanager
def _started(command: list[str], env: dict[str, str], log: Path, health_url: str,
             what: str) -> Iterator[None]:
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, cwd=REPO_ROOT, stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait_until_up(health_url, process, what, log)
            yield
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)


@contextmanager
def _prefect_server(scratch: Path) -> Iterator[str]:
    """A Prefect server of its own with every deployment of prefect.yaml on it."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PREFECT_HOME": str(scratch / "prefect"),
           "PREFECT_API_URL": f"{url}/api", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_CLI_PROMPT": "false"}
    with _started([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1",
                   "--port", str(port)], env, scratch / "prefect.log", f"{url}/api/health",
                  "the Prefect server"):
        for step in (["work-pool", "create", "norrut-process", "--type", "process"],
                     ["--no-prompt", "deploy", "--all"]):
            done = subprocess.run([str(BIN / "prefect"), *step], env=env, cwd=REPO_ROOT,
                                  capture_output=True, text=True, check=False, timeout=300)
            if done.returncode != 0:
                raise ScreenshotError(f"prefect {' '.join(step)} failed:\n{done.stderr[-2000:]}")
        yield url


@contextmanager
def _mlflow_ui(home, scratch: Path) -> Iterator[str]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with _started([str(BIN / "mlflow"), "ui", "--backend-store-uri", home.mlflow_tracking_uri,
                   "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                  dict(os.environ), scratch / "mlflow.log", f"{url}/health", "the MLflow UI"):
        yield url


@contextmanager
def _portal(home) -> Iterator[tuple[str, str, str]]:
    """The portal in a thread, with a temporary account that is removed afterwards."""
    import uvicorn

    from portal.app import create_app
    from portal.users import UserStore

    user, password = f"screenshots-{secrets.token_hex(4)}", secrets.token_urlsafe(18)
    store = UserStore(home.users_file)
    store.add(user, password)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(home), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise ScreenshotError("the portal did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", user, password
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        store.remove(user)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=None,
                        help="Norrut home to photograph (default: $NORRUT_HOME or ./.norrut)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "screenshots",
                        help="folder for the PNG files")
    arguments = parser.parse_args()
    try:
        written = take_screenshots(arguments.home, arguments.out)
    except ScreenshotError as problem:
        print(f"error: {problem}", file=sys.stderr)
        raise SystemExit(2) from None
    for path in written:
        print(path)


if __name__ == "__main__":
    main()
