"""The steps of Norrut's jobs as plain functions, and what runs them (a `JobRun`).

A job's sequence of steps (flows/jobs.py) is written once. A flow run (flows/common.py:
FlowRun) runs each step as a Prefect task; a command run without a Prefect server
(flows/direct.py:DirectRun) calls it as a plain function. This module imports no Prefect and
no stage library at import time, so a command that runs directly starts in a fraction of a
second; each step imports its stage when it runs.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from core.home import NorrutHome

if TYPE_CHECKING:
    from pydantic import BaseModel


class Progress(Protocol):
    """Hears how far a step got: `done` of `total` items (files or steps), what happened last,
    and the rows the last item handled (0 when it counts no rows). Never given personal data:
    an event file's name arrives as the ingest made it safe to show."""

    def __call__(self, done: int, total: int, what: str, rows: int = 0) -> None: ...


class JobRun(Protocol):
    """How a job's steps run: inside a Prefect flow run, or directly in the command's process."""

    def holding_the_warehouse(self, home: NorrutHome,
                              wait_seconds: float) -> AbstractContextManager[None]: ...

    def run(self, step: Step, *args: Any) -> Any: ...

    def rename(self, name: str) -> None: ...

    def log(self, message: str) -> None: ...

    def publish(self, markdown: str, key: str, description: str) -> None: ...


@dataclass(frozen=True)
class Step:
    """One step of a job: a plain function, and how a flow run runs it as a task (its name; its
    retries, taken only when the file system or network failed). A step that reports progress
    takes a `progress=` keyword (a Progress); a step that runs tasks per shard takes a
    `shard_runner=` keyword (a core.engine.ShardRunner), which a flow run on a cluster gives so
    that each shard's task is a task run of its own (flows/cluster.py)."""

    name: str
    function: Callable[..., Any]
    retries: int = 0
    retry_delay_seconds: float = 0
    reports_progress: bool = False
    runs_on_shards: bool = False


def step(name: str, *, retries: int = 0, retry_delay_seconds: float = 0,
         reports_progress: bool = False,
         runs_on_shards: bool = False) -> Callable[[Callable[..., Any]], Step]:
    """Declare a plain function as a job's step (see Step)."""
    return lambda function: Step(name, function, retries, retry_delay_seconds, reports_progress,
                                 runs_on_shards)


def run_name(prefix: str, settings: BaseModel | dict | None) -> str:
    """A run's name before its as-of date is resolved: `<prefix>-<as-of>` when the settings give
    one, else `<prefix>-latest` (renamed once the date is known)."""
    if settings is not None and hasattr(settings, "model_dump"):
        settings = settings.model_dump(mode="json")
    as_of = (settings or {}).get("as_of")
    return f"{prefix}-{as_of}" if as_of else f"{prefix}-latest"


def run_name_of_today(prefix: str) -> str:
    """A run's name for a job without an as-of date, such as ingest: today's date (UTC)."""
    return f"{prefix}-{datetime.now(UTC).date().isoformat()}"


def _step_progress(progress: Progress | None) -> Callable[[str, int, int], None] | None:
    """A stage's step hook (`(step, done, total)`) feeding a Progress."""
    if progress is None:
        return None
    return lambda what, done, total: progress(done, total, what)


# --- the steps ------------------------------------------------------------------------------


@step("resolve-as-of", retries=2, retry_delay_seconds=2)
def resolve_as_of(as_of: date | None, home: NorrutHome) -> date:
    """The as-of date given, else the day after the newest event."""
    from warehouse.as_of import resolve_as_of as resolve

    return resolve(home.warehouse_path, as_of)


@step("ingest-inbox", retries=2, retry_delay_seconds=10, reports_progress=True,
      runs_on_shards=True)
def ingest_inbox(settings, progress: Progress | None = None, shard_runner=None):
    """Load the inbox; each file commits on its own, so the progress shows how far it got."""
    from warehouse.ingest import ingest

    def each_file(result, done: int, total: int) -> None:
        progress(done, total, f"{result.file_name}: {result.status}", result.rows_read)

    return ingest(settings, progress=each_file if progress is not None else None,
                  shard_runner=shard_runner)


@step("apply-optouts", retries=2, retry_delay_seconds=10, runs_on_shards=True)
def apply_optouts(warehouse_path: str, optouts_csv: str, shard_runner=None):
    from core.engine import given_or_configured
    from warehouse.optout import apply_optouts as apply

    with given_or_configured(shard_runner) as runner:
        return apply(warehouse_path, optouts_csv, shard_runner=runner)


@step("remove-persons-from-exports", retries=2, retry_delay_seconds=10)
def remove_persons_from_exports(warehouse_path: str, exports_dir: str, optout_run_id: str):
    from activation.export_rewrite import remove_persons_from_exports as remove

    return remove(warehouse_path, exports_dir, optout_run_id)


@step("remove-abandoned-export-folders")
def remove_abandoned_export_folders(exports_dir: str) -> int:
    from activation.export_run import remove_abandoned_temp_folders

    return len(remove_abandoned_temp_folders(Path(exports_dir)))


@step("compact-warehouse", retries=2, retry_delay_seconds=10)
def compact_warehouse(warehouse_path: str):
    from warehouse.compaction import compact_warehouse as compact

    return compact(warehouse_path)


@step("has-features", retries=2, retry_delay_seconds=2)
def has_features(home: NorrutHome, as_of: date) -> bool:
    # Reads the warehouse file only, hence the retries on I/O errors.
    from features.build import has_features as built

    return built(home.warehouse_path, as_of)


@step("build-features", reports_progress=True, runs_on_shards=True)
def build_features(settings, progress: Progress | None = None, shard_runner=None):
    # Deterministic SQL: no retries, a second try would fail the same way.
    from features.job import build

    return build(settings, progress=_step_progress(progress), shard_runner=shard_runner)


@step("train-model", reports_progress=True, runs_on_shards=True)
def train_model(settings, progress: Progress | None = None, shard_runner=None):
    # Deterministic for a given warehouse and seed: a retry would fail the same way.
    from models.training import train

    return train(settings, progress=_step_progress(progress), shard_runner=shard_runner)


@step("champion-trained-at", retries=2, retry_delay_seconds=5)
def champion_trained_at(tracking_uri: str) -> datetime | None:
    """When the current champion was registered; None when there is none. Reads the MLflow
    store from disk, hence the retries on I/O errors."""
    from models.registry import list_versions
    from models.settings import DEFAULT_MODEL_NAME

    for version in list_versions(tracking_uri, DEFAULT_MODEL_NAME):
        if "champion" in version["aliases"]:
            return datetime.fromtimestamp(version["created_at_ms"] / 1000, tz=UTC)
    return None


@step("score-persons", reports_progress=True, runs_on_shards=True)
def score_persons(settings, progress: Progress | None = None, shard_runner=None):
    # Deterministic given the warehouse and the champion: no retries.
    from activation.scoring import score

    return score(settings, progress=_step_progress(progress), shard_runner=shard_runner)


@step("export-segments", retries=2, retry_delay_seconds=10, reports_progress=True,
      runs_on_shards=True)
def export_segments(settings, progress: Progress | None = None, shard_runner=None):
    # Retried only when writing the files fails (a full or flaky disk); a retry writes a new
    # version folder, a failed attempt leaves none behind.
    from activation.export_run import export

    return export(settings, progress=_step_progress(progress), shard_runner=shard_runner)


@step("measure-model-health", retries=2, retry_delay_seconds=10, reports_progress=True,
      runs_on_shards=True)
def measure_model_health(settings, progress: Progress | None = None, shard_runner=None):
    # Retried only when the disk or MLflow store failed: the rows are remade in one transaction.
    from monitoring.health import monitor

    return monitor(settings, progress=_step_progress(progress), shard_runner=shard_runner)


@step("find-export-run")
def find_export_run(exports_dir: str, segment: str, as_of: date | None,
                    export_version: int | None) -> tuple[date, int]:
    """The as-of date and version measured: those given, else the newest that wrote the segment."""
    from activation.lift import newest_export_as_of, newest_export_version

    resolved = as_of or newest_export_as_of(Path(exports_dir), segment)
    return resolved, export_version or newest_export_version(Path(exports_dir), segment, resolved)


@step("measure-creatives", reports_progress=True, runs_on_shards=True)
def measure_creatives(settings, progress: Progress | None = None, shard_runner=None):
    # Deterministic given the warehouse and the champion: no retries.
    from insight.creatives import creatives

    return creatives(settings, progress=_step_progress(progress), shard_runner=shard_runner)


@step("measure-lift", retries=2, retry_delay_seconds=5, runs_on_shards=True)
def measure_lift(settings, shard_runner=None):
    # Retried only when reading or writing a file fails; the counts are deterministic.
    from activation.lift import lift as measure

    return measure(settings, shard_runner=shard_runner)
