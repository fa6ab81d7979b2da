"""Flow: score everyone with the champion model and export the segment files."""

from __future__ import annotations

from datetime import date

from prefect import flow, task

from activation.settings import ExportSettings, ScoreAndExportSettings, ScoreSettings
from flows.common import (
    holding_the_warehouse,
    publish,
    resolve_as_of,
    retry_only_io_errors,
    run_name_with_date,
)
from flows.features_first import features_built_first
from flows.reports import export_markdown, scoring_markdown


@task(name="score-persons")
def score_persons_task(settings: ScoreSettings):
    # Deterministic given the warehouse and the champion: no retries.
    from activation.scoring import score

    return score(settings)


@task(name="export-segments", retries=2, retry_delay_seconds=10,
      retry_condition_fn=retry_only_io_errors)
def export_segments_task(settings: ExportSettings):
    # Retried only when writing the files fails (a full or flaky disk); a retry writes a new
    # version folder, a failed attempt leaves none behind.
    from activation.export_run import export

    return export(settings)


def score_and_export_steps(settings: ScoreAndExportSettings, as_of: date):
    """Score, then export the scores of that same run; the caller holds the warehouse."""
    scores = score_persons_task(settings.score_settings(as_of))
    export = export_segments_task(settings.export_settings(as_of))
    return scores, export


@flow(name="score-and-export", flow_run_name=lambda: run_name_with_date("score-and-export"),
      log_prints=True)
def score_and_export(settings: ScoreAndExportSettings = ScoreAndExportSettings()):
    """Score every eligible person with the champion, then write each segment's files. The
    date's features are built first when none were built for it."""
    paths = settings.norrut_home().ensure()
    with holding_the_warehouse(paths, settings.lock_wait_seconds):
        resolved = resolve_as_of(settings.as_of, paths, "score-and-export")
        features = features_built_first(paths, resolved, settings.lock_wait_seconds)
        scores, export = score_and_export_steps(settings, resolved)
    publish(scoring_markdown(scores, features) + "\n\n" + export_markdown(export),
            key="segments-summary", description="Segments written and skipped, and where")
    return export
