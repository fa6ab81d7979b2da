"""Run a flow from the CLI, so every run, however started, shows up in Prefect.

Without PREFECT_API_URL, Prefect starts a temporary server for the run and records it in
$PREFECT_HOME's database, where a later `prefect server start` shows it. Prefect's anonymous
usage telemetry cannot reach the internet here, so it is switched off unless set.

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
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from pydantic import BaseModel


class FlowRunFailed(RuntimeError):
    """A flow run ended in a failed or crashed state; the message is the run's own error,
    and `__cause__` the exception itself when the run raised one."""


def _prepare_environment() -> None:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
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


def _run(flow_function, settings: BaseModel, quiet: bool = False) -> Any:
    """Call the flow with the job's settings as its one parameter; raise FlowRunFailed on
    failure."""
    _prepare_environment()
    import prefect.main  # noqa: F401 - sets up Prefect's logging, whose handlers are muted

    with _console_logs_silenced() if quiet else nullcontext():
        _start_temporary_server()
        state = flow_function(settings, return_state=True)
    if not state.is_completed():
        try:
            state.result()
        except Exception as error:  # the run's own error, already logged by Prefect
            from core.errors import one_line  # the CLI prints it: one line, no SQL excerpt

            raise FlowRunFailed(one_line(error)) from error
        raise FlowRunFailed(state.message or f"the flow run ended {state.name}")
    return state.result()


def run_ingest(settings, *, quiet: bool = False):
    """Run the ingest flow; returns the IngestReport."""
    from flows.ingest import ingest

    return _run(ingest, settings, quiet)


def run_optout(settings, *, quiet: bool = False):
    """Run the optout flow; returns the OptoutReport."""
    from flows.optout import optout

    return _run(optout, settings, quiet)


def run_build_features(settings, *, quiet: bool = False):
    """Run the build-features flow; returns the FeatureBuildResult."""
    from flows.build_features import build_features

    return _run(build_features, settings, quiet)


def run_train(settings, *, quiet: bool = False):
    """Run the train flow; returns the TrainResult."""
    from flows.train import train

    return _run(train, settings, quiet)


def run_score(settings, *, quiet: bool = False):
    """Run the score flow; returns the ScoreResult."""
    from flows.score import score

    return _run(score, settings, quiet)


def run_export(settings, *, quiet: bool = False):
    """Run the export flow; returns the ExportRunReport."""
    from flows.export import export

    return _run(export, settings, quiet)


def run_lift(settings, *, quiet: bool = False):
    """Run the lift flow; returns the LiftMeasurement."""
    from flows.lift import lift

    return _run(lift, settings, quiet)


def run_score_and_export(settings, *, quiet: bool = False):
    """Run the score-and-export flow; returns the ExportRunReport."""
    from flows.score_and_export import score_and_export

    return _run(score_and_export, settings, quiet)


def run_pipeline(settings, *, quiet: bool = False):
    """Run the pipeline flow; returns the PipelineResult."""
    from flows.pipeline import pipeline

    return _run(pipeline, settings, quiet)
