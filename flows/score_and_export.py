"""Flow: score everyone with the champion model and export the segment files."""

from __future__ import annotations

from datetime import date

from prefect import flow, task

from flows.common import (
    holding_the_warehouse,
    publish,
    rename_run,
    resolve_as_of,
    retry_only_io_errors,
    run_name_with_date,
)
from flows.reports import export_markdown, scoring_markdown
from flows.settings import DEFAULT_LOCK_WAIT_SECONDS, DEFAULT_MODEL_NAME, ScoreAndExportSettings


@task(name="score-persons")
def score_persons_task(warehouse_path: str, as_of: date, tracking_uri: str,
                       model_name: str = DEFAULT_MODEL_NAME, out: str | None = None):
    # Deterministic given the warehouse and the champion: no retries.
    from activation.scoring import score_persons

    return score_persons(warehouse_path, as_of, tracking_uri, model_name, out)


@task(name="export-segments", retries=2, retry_delay_seconds=10,
      retry_condition_fn=retry_only_io_errors)
def export_segments_task(warehouse_path: str, exports_dir: str, as_of: date,
                         segments_file: str | None, model_name: str | None = None):
    # Retried only when writing the files fails (a full or flaky disk); a retry writes a new
    # version folder, a failed attempt leaves none behind.
    from activation.definitions import load_segments
    from activation.export_run import ExportSettings, export_segments

    settings = ExportSettings(segments=load_segments(segments_file), model_name=model_name)
    return export_segments(warehouse_path, exports_dir, as_of, settings)


def score_and_export_steps(paths, as_of: date, segments_file: str | None):
    """Score, then export the scores of that same run; the caller holds the warehouse."""
    scores = score_persons_task(str(paths.warehouse_path), as_of, paths.mlflow_tracking_uri)
    export = export_segments_task(str(paths.warehouse_path), str(paths.exports_dir), as_of,
                                  segments_file)
    return scores, export


@flow(name="score-and-export", flow_run_name=lambda: run_name_with_date("score-and-export"),
      log_prints=True)
def score_and_export(
    home: str | None = None,
    as_of: date | None = None,
    segments_file: str | None = None,
    lock_wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS,
):
    """Score every eligible person with the champion, then write each segment's files."""
    settings = ScoreAndExportSettings(home=home, as_of=as_of, segments_file=segments_file,
                                      lock_wait_seconds=lock_wait_seconds)
    paths = settings.norrut_home().ensure()
    with holding_the_warehouse(paths, settings.lock_wait_seconds):
        resolved = resolve_as_of(settings.as_of, str(paths.warehouse_path))
        rename_run(f"score-and-export-{resolved.isoformat()}")
        scores, export = score_and_export_steps(paths, resolved, settings.segments_file)
    publish(scoring_markdown(scores) + "\n\n" + export_markdown(export),
            key="segments-summary", description="Segments written and skipped, and where")
    return export
