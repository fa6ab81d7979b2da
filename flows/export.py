"""Flow: write the segment files from stored scores as a new export version (`norrut export`)."""

from __future__ import annotations

from prefect import flow

from activation.settings import ExportSettings
from flows.common import holding_the_warehouse, publish, resolve_as_of, run_name_with_date
from flows.reports import export_markdown
from flows.score_and_export import export_segments_task


@flow(name="export", flow_run_name=lambda: run_name_with_date("export"), log_prints=True)
def export(settings: ExportSettings = ExportSettings()):
    """Write each segment's files for the ad platforms from the scores of one as-of date."""
    paths = settings.norrut_home().ensure()
    with holding_the_warehouse(paths, settings.lock_wait_seconds):
        resolved = resolve_as_of(settings.as_of, paths, "export")
        report = export_segments_task(settings.model_copy(update={"as_of": resolved}))
    publish(export_markdown(report), key="segments-summary",
            description="Segments written and skipped, and where")
    return report
