"""Flow: write the segment files from stored scores as a new export version (`norrut export`)."""

from __future__ import annotations

from datetime import date

from prefect import flow

from flows.common import (
    holding_the_warehouse,
    publish,
    rename_run,
    resolve_as_of,
    run_name_with_date,
)
from flows.reports import export_markdown
from flows.score_and_export import export_segments_task
from flows.settings import DEFAULT_LOCK_WAIT_SECONDS, ExportSettings


@flow(name="export", flow_run_name=lambda: run_name_with_date("export"), log_prints=True)
def export(
    home: str | None = None,
    as_of: date | None = None,
    segments_file: str | None = None,
    model_name: str | None = None,
    exports_dir: str | None = None,
    lock_wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS,
):
    """Write each segment's files for the ad platforms from the scores of one as-of date."""
    settings = ExportSettings(home=home, as_of=as_of, segments_file=segments_file,
                              model_name=model_name, exports_dir=exports_dir,
                              lock_wait_seconds=lock_wait_seconds)
    paths = settings.norrut_home().ensure()
    with holding_the_warehouse(paths, settings.lock_wait_seconds):
        resolved = resolve_as_of(settings.as_of, str(paths.warehouse_path))
        rename_run(f"export-{resolved.isoformat()}")
        report = export_segments_task(str(paths.warehouse_path), str(settings.exports_path()),
                                      resolved, settings.segments_file, settings.model_name)
    publish(export_markdown(report), key="segments-summary",
            description="Segments written and skipped, and where")
    return report
