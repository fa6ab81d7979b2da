"""Progress bars of the long commands: N of M files (or steps) and the rate, on stderr.

A bar is drawn only on a terminal and never in CI (CI set), so tests, logs and redirected
output stay clean. It shows what the job reports (flows/steps.py:Progress), which never holds
personal data: an event file's name arrives as the ingest made it safe to show.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Task
    from rich.text import Text

ProgressReport = Callable[..., None]  # (done, total, what, rows=0), as flows.steps.Progress


def bars_shown(console: Console) -> bool:
    """Bars only where a person watches: a terminal, and not a CI job."""
    return console.is_terminal and not os.environ.get("CI")


def _rate_text(task: Task) -> Text:
    """Rows per second when the job counts rows, else its items per second."""
    from rich.text import Text

    elapsed = task.elapsed or 0.0
    if elapsed <= 0:
        return Text("")
    rows = task.fields.get("rows", 0)
    if rows:
        return Text(f"{rows / elapsed:,.0f} rows/s", style="progress.data.speed")
    return Text(f"{task.completed / elapsed:.2f} {task.fields['unit']}/s",
                style="progress.data.speed")


@contextmanager
def progress_bar(description: str, total: int | None = None,
                 unit: str = "steps") -> Iterator[ProgressReport]:
    """A bar on stderr while a job runs; yields the callback the job reports its progress to
    (done, total, what happened last, rows it handled)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    class RateColumn(ProgressColumn):
        def render(self, task: Task) -> Text:
            return _rate_text(task)

    console = Console(stderr=True)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
               MofNCompleteColumn(), TextColumn("{task.fields[unit]}"), RateColumn(),
               TimeElapsedColumn(), TextColumn("{task.fields[what]}"))
    with Progress(*columns, console=console, transient=True,
                  disable=not bars_shown(console)) as progress:
        task = progress.add_task(description, total=total, unit=unit, rows=0, what="")
        rows_so_far = 0

        def report(done: int, total: int, what: str, rows: int = 0) -> None:
            nonlocal rows_so_far
            rows_so_far += rows
            progress.update(task, completed=done, total=total, what=what, rows=rows_so_far)

        yield report
