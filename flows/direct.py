"""Run a job's steps directly in the command's process, without Prefect (flows/run.py chooses
this when no Prefect API is configured): the same steps, writer lock and as-of date as its flow
run, and the same summary, written to <home>/reports/<job>/ instead of a Prefect artifact.

No Prefect server starts and no Prefect database is written. A step that failed on a flaky
disk is not retried as a flow run's task would be: the command says what failed, and running
it again picks up where it stopped (every step is safe to rerun).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.home import NorrutHome
from core.locking import warehouse_writer_lock
from flows.steps import Progress, Step

REPORTS_FOLDER = "reports"
LATEST_REPORT = "latest.md"


def reports_dir(home: NorrutHome, job: str) -> Path:
    """Where a job run directly keeps its summaries: <home>/reports/<job>/."""
    return home.root / REPORTS_FOLDER / job


def write_report(folder: Path, markdown: str, at: datetime) -> Path:
    """Write one run's summary as `<UTC time>.md` and as `latest.md`; returns the first.

    Each file is written beside its place and renamed into it, so a reader never sees half."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{at.strftime('%Y%m%dT%H%M%S.%fZ')}.md"
    for target in (path, folder / LATEST_REPORT):
        partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        partial.write_text(markdown + "\n", encoding="utf-8")
        partial.replace(target)
    return path


class DirectRun:
    """Runs a job's steps as plain calls in this process (flows/steps.py:JobRun); `progress`,
    when given, hears the steps that report it (a command's progress bar)."""

    def __init__(self, job: str, home: NorrutHome, name: str,
                 progress: Progress | None = None) -> None:
        self.job = job
        self.home = home
        self.name = name  # the lock holder's name, as a flow run would be named
        self.progress = progress
        self.reports: list[Path] = []
        self._logger = logging.getLogger(f"norrut.{job}")

    @contextmanager
    def holding_the_warehouse(self, home: NorrutHome, wait_seconds: float) -> Iterator[None]:
        self._logger.info("Waiting up to %g s for the warehouse %s", wait_seconds,
                          home.warehouse_path)
        with warehouse_writer_lock(home.warehouse_path, home.locks_dir, run_name=self.name,
                                   wait_seconds=wait_seconds):
            yield

    def run(self, step: Step, *args: Any) -> Any:
        if step.reports_progress and self.progress is not None:
            return step.function(*args, progress=self.progress)
        return step.function(*args)

    def rename(self, name: str) -> None:
        self.name = name

    def log(self, message: str) -> None:
        self._logger.info("%s", message)

    def publish(self, markdown: str, key: str, description: str) -> None:
        # `key` and `description` name a Prefect artifact; here the job's folder says what it is.
        self.reports.append(write_report(reports_dir(self.home, self.job), markdown,
                                         datetime.now(UTC)))
