"""Run a job from the CLI: directly in the command's process when no Prefect API is
configured, else as a flow run of that server.

Without a Prefect API (PREFECT_API_URL neither in the environment nor in the active profile
of Prefect's profiles file), `norrut ingest`, `optout`, `features build`, `train`, `score`,
`export`, `lift`, `monitor` and `creatives` run their job's steps directly (flows/direct.py): Prefect is not
even imported, no server starts, no Prefect database is written, and the summary a flow run
publishes as an artifact is written to <home>/reports/<job>/<time>.md and latest.md. The same
steps (flows/jobs.py), writer lock, as-of date and summary as the flow run.

With a Prefect API the command is a flow run of that server and shows in its UI. `norrut
pipeline` (and `make demo`) is always a flow run: without an API Prefect starts a temporary
server for the run and records it in $PREFECT_HOME's database, where a later `prefect server
start` shows it. PREFECT_HOME defaults to <NORRUT_HOME>/prefect then, so two homes' runs never
mix in one UI. Prefect's anonymous usage telemetry cannot reach the internet here, so it is
switched off unless set.

With `quiet=True` (the `norrut` commands other than `pipeline`) Prefect's log lines stay out of
the terminal, where the command prints its own summary or one-line error; they still reach the
Prefect server, so the run's logs are in the UI.

The temporary server migrates $PREFECT_HOME's database as it starts. Two first runs at once
migrated a fresh database side by side, and one crashed ("duplicate column name"), so each
process starts its temporary server under a lock per PREFECT_HOME, before the run would.
"""

from __future__ import annotations

import atexit
import fcntl
import importlib
import logging
import os
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from core.home import NorrutHome
from flows.steps import JobRun, Progress, run_name, run_name_of_today

PREFECT_HOME_FOLDER = "prefect"  # <NORRUT_HOME>/prefect: the temporary server's database


class JobRunFailed(RuntimeError):
    """A job's run (a flow run, or a direct run) failed; the message is the run's own error,
    and `__cause__` the exception itself when the run raised one."""


def prefect_api_configured() -> bool:
    """Whether Prefect has a server to talk to: PREFECT_API_URL in the environment, or in the
    active profile of Prefect's profiles file (`prefect config set PREFECT_API_URL=...`). Read
    without importing Prefect, which alone takes seconds."""
    if os.environ.get("PREFECT_API_URL"):
        return True
    prefect_home = Path(os.environ.get("PREFECT_HOME") or "~/.prefect")
    profiles_path = Path(os.environ.get("PREFECT_PROFILES_PATH")
                         or prefect_home / "profiles.toml").expanduser()
    try:
        profiles = tomllib.loads(profiles_path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return False
    active = os.environ.get("PREFECT_PROFILE") or profiles.get("active") or "ephemeral"
    return bool(profiles.get("profiles", {}).get(active, {}).get("PREFECT_API_URL"))


def _prepare_environment(home: NorrutHome) -> None:
    """Before Prefect is imported: its temporary server's database in the Norrut home unless
    PREFECT_HOME says otherwise, telemetry off, MLflow quiet."""
    if not prefect_api_configured() and "PREFECT_HOME" not in os.environ:
        # Made here: Prefect makes only the last folder, and the home may not exist yet.
        (home.root / PREFECT_HOME_FOLDER).mkdir(parents=True, exist_ok=True)
        os.environ["PREFECT_HOME"] = str(home.root / PREFECT_HOME_FOLDER)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    _quiet_mlflow()


def _quiet_mlflow() -> None:
    """Before MLflow is imported, for flow runs and direct runs alike."""
    # MLflow draws a progress bar for each model download, one line per file, into the run's
    # output; the run's own summary says what was scored.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # and logs at INFO how it set up its store and found the uv project, on every first run
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")


def _prefect_console_handlers() -> list[logging.Handler]:
    from prefect.logging.handlers import PrefectConsoleHandler

    loggers = [logging.getLogger()] + [
        logger for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)]
    return [handler for logger in loggers for handler in logger.handlers
            if isinstance(handler, PrefectConsoleHandler)]


def _mute_prefect_console() -> None:
    for handler in _prefect_console_handlers():
        handler.setLevel(logging.CRITICAL + 1)


@contextmanager
def _console_logs_silenced() -> Iterator[None]:
    """Mute Prefect's console handlers for the run; its API handler still ships the logs."""
    muted = [(handler, handler.level) for handler in _prefect_console_handlers()]
    _mute_prefect_console()
    try:
        yield
    finally:
        for handler, level in muted:
            handler.setLevel(level)
        # A temporary server started by the run stops at exit and says so; registered after
        # it, this runs first and keeps that line out of the command's output too.
        atexit.unregister(_mute_prefect_console)
        atexit.register(_mute_prefect_console)


TEMPORARY_SERVER_LOCK = "norrut-temporary-server.lock"
# Prefect waits 20 s by default; a first start, migrating the database, took longer than that
# on two busy cores while another process started its server.
TEMPORARY_SERVER_START_SECONDS = 120


def _start_temporary_server() -> None:
    """Without PREFECT_API_URL, start this process's temporary server now, one process per
    PREFECT_HOME at a time; the flow run then uses it (Prefect keeps one per process)."""
    from prefect.settings import PREFECT_API_URL, get_current_settings

    settings = get_current_settings()
    if PREFECT_API_URL.value() or not settings.server.ephemeral.enabled:
        return
    from prefect.server.api.server import SubprocessASGIServer

    prefect_home = Path(settings.home).expanduser()
    prefect_home.mkdir(parents=True, exist_ok=True)
    with open(prefect_home / TEMPORARY_SERVER_LOCK, "a") as lock:
        # Blocks while another process starts its server (bounded by that start's timeout);
        # the kernel releases the lock when the file closes or its holder dies.
        fcntl.flock(lock, fcntl.LOCK_EX)
        SubprocessASGIServer().start(timeout=TEMPORARY_SERVER_START_SECONDS)


def run_flow(flow_function, settings: BaseModel, quiet: bool = False) -> Any:
    """Call the flow with the job's settings as its one parameter; raise JobRunFailed on
    failure."""
    _prepare_environment(settings.norrut_home())
    import prefect.main  # noqa: F401 - sets up Prefect's logging, whose handlers are muted

    with _console_logs_silenced() if quiet else nullcontext():
        _start_temporary_server()
        state = flow_function(settings, return_state=True)
    if not state.is_completed():
        try:
            state.result()
        except Exception as error:  # the run's own error, already logged by Prefect
            from core.errors import one_line  # the CLI prints it: one line, no SQL excerpt

            raise JobRunFailed(one_line(error)) from error
        raise JobRunFailed(state.message or f"the flow run ended {state.name}")
    return state.result()


def _run_directly(job: str, steps: Callable[[JobRun, Any], Any], settings: BaseModel,
                  name: str, progress: Progress | None) -> Any:
    """Run the job's steps in this process (flows/direct.py); raise JobRunFailed on failure."""
    from flows.direct import DirectRun

    _quiet_mlflow()
    try:
        return steps(DirectRun(job, settings.norrut_home(), name, progress), settings)
    except Exception as error:
        from core.errors import one_line  # the CLI prints it: one line, no SQL excerpt

        raise JobRunFailed(one_line(error)) from error


def _run_job(job: str, steps: Callable[[JobRun, Any], Any], settings: BaseModel, *,
             quiet: bool, progress: Progress | None, dated: bool = True) -> Any:
    """The job as a flow run of the configured Prefect server, else directly. Its flow is
    flows/<job>.py:<job> (dashes as underscores); `dated` runs are named after their as-of date,
    the others after today."""
    if prefect_api_configured():
        module = job.replace("-", "_")
        return run_flow(getattr(importlib.import_module(f"flows.{module}"), module), settings, quiet)
    name = run_name(job, settings) if dated else run_name_of_today(job)
    return _run_directly(job, steps, settings, name, progress)


def run_ingest(settings, *, quiet: bool = False, progress: Progress | None = None):
    """Run the ingest job; returns the IngestReport."""
    from flows.jobs import ingest_job

    return _run_job("ingest", ingest_job, settings, quiet=quiet, progress=progress, dated=False)


def run_optout(settings, *, quiet: bool = False, progress: Progress | None = None):
    """Run the optout job; returns the OptoutReport."""
    from flows.jobs import optout_job

    return _run_job("optout", optout_job, settings, quiet=quiet, progress=progress, dated=False)


def run_build_features(settings, *, quiet: bool = False, progress: Progress | None = None):
    """Run the build-features job; returns the FeatureBuildResult."""
    from flows.jobs import build_features_job

    return _run_job("build-features", build_features_job, settings, quiet=quiet,
                    progress=progress)


def run_train(settings, *, quiet: bool = False, progress: Progress | None = None):
    """Run the train job; returns the TrainResult."""
    from flows.jobs import train_job

    return _run_job("train", train_job, settings, quiet=quiet, progress=progress)


def run_score(settings, *, quiet: bool = False, progress: Progress | None = None):
    """Run the score job; returns the ScoreResult."""
    from flows.jobs import score_job

    return _run_job("score", score_job, settings, quiet=quiet, progress=progress)


def run_export(settings, *, quiet: bool = False, progress: Progress | None = None):
    """Run the export job; returns the ExportRunReport."""
    from flows.jobs import export_job

    return _run_job("export", export_job, settings, quiet=quiet, progress=progress)


def run_lift(settings, *, quiet: bool = False, progress: Progress | None = None):
    """Run the lift job; returns the LiftMeasurement."""
    from flows.jobs import lift_job

    return _run_job("lift", lift_job, settings, quiet=quiet, progress=progress)


def run_monitor(settings, *, quiet: bool = False, progress: Progress | None = None):
    """Run the monitor job; returns the HealthReport (JobRunFailed on an alarm)."""
    from flows.jobs import monitor_job

    return _run_job("monitor", monitor_job, settings, quiet=quiet, progress=progress,
                    dated=False)


def run_creatives(settings, *, quiet: bool = False, progress: Progress | None = None):
    """Run the creatives job; returns the CreativeReport."""
    from flows.jobs import creatives_job

    return _run_job("creatives", creatives_job, settings, quiet=quiet, progress=progress)


def run_score_and_export(settings, *, quiet: bool = False, progress: Progress | None = None):
    """Run the score-and-export job; returns the ExportRunReport."""
    from flows.jobs import score_and_export_job

    return _run_job("score-and-export", score_and_export_job, settings, quiet=quiet,
                    progress=progress)


def run_pipeline(settings, *, quiet: bool = False):
    """Run the pipeline as a flow run, always (on Prefect's temporary server when no API is
    configured), so it shows in the Prefect UI; returns the PipelineResult."""
    from flows.pipeline import pipeline

    return run_flow(pipeline, settings, quiet)
