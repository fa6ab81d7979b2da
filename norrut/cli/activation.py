"""CLI commands for activation: `norrut score` and `norrut export`."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from activation.settings import ExportSettings, ScoreSettings
from norrut.cli import context
from norrut.cli.context import NorrutCommand, setting_option, settings_from


def register(app: typer.Typer) -> None:
    """Add this area's commands to the norrut app."""
    app.command("score", cls=NorrutCommand)(score)
    app.command("export", cls=NorrutCommand)(export)


def score(
    ctx: typer.Context,
    as_of: Annotated[date | None, setting_option(ScoreSettings, "as_of")] = None,
    out: Annotated[Path | None, setting_option(ScoreSettings, "out", dir_okay=False)] = None,
    model_name: Annotated[str | None, setting_option(ScoreSettings, "model_name")] = None,
    tracking_uri: Annotated[str | None, setting_option(ScoreSettings, "tracking_uri")] = None,
    lock_wait_seconds: Annotated[float | None, setting_option(
        ScoreSettings, "lock_wait_seconds")] = None,
) -> None:
    """Score every person who may be targeted with the champion model and store the scores.

    The ranked list written with --out is the contract's generic CSV (person_id, id_type,
    score, rank, decile). Runs as a Prefect flow run named score-<as-of>, so it shows up in
    the Prefect UI."""
    from mlflow.exceptions import MlflowException
    from rich.console import Console
    from rich.table import Table

    from activation.scoring import NoFeaturesError
    from flows.run import FlowRunFailed, run_score
    from models.registry import NoChampionError

    settings = settings_from(ScoreSettings, ctx, as_of=as_of, out=out, model_name=model_name,
                             tracking_uri=tracking_uri, lock_wait_seconds=lock_wait_seconds)
    home = settings.norrut_home().ensure()
    shown = context.resolved_as_of(home, settings.as_of)
    try:
        with context.spinner(f"scoring as of {shown.isoformat()} in a Prefect flow run"):
            result = run_score(settings, quiet=True)
    except FlowRunFailed as failed:
        raise context.flow_failure(
            failed, home, (NoChampionError, NoFeaturesError, MlflowException, ValueError)) from None
    day = result.as_of
    console = Console()
    rate = result.persons_scored / result.scoring_seconds if result.scoring_seconds else 0
    table = Table(title=f"Scores as of {day.isoformat()}", show_header=False)
    table.add_column("figure", style="bold")
    table.add_column("value", overflow="fold")
    for figure, value in (
        ("persons scored", f"{result.persons_scored:,}"),
        ("model", f"{result.model_name} version {result.model_version}"),
        ("MLflow run", result.model_run_id),
        ("scoring step", f"{result.scoring_seconds:.2f} s ({rate:,.0f} persons/s)"),
        ("total", f"{result.total_seconds:.1f} s"),
        ("ranked list", str(result.out_path) if result.out_path else "- (use --out FILE)"),
    ):
        table.add_row(figure, value)
    console.print(table)


def export(
    ctx: typer.Context,
    as_of: Annotated[date | None, setting_option(ExportSettings, "as_of")] = None,
    exports_dir: Annotated[Path | None, setting_option(
        ExportSettings, "exports_dir", "--out", file_okay=False)] = None,
    segments_file: Annotated[Path | None, setting_option(
        ExportSettings, "segments_file", "--segments", envvar="NORRUT_SEGMENTS_FILE",
        dir_okay=False)] = None,
    model_name: Annotated[str | None, setting_option(ExportSettings, "model_name")] = None,
    lock_wait_seconds: Annotated[float | None, setting_option(
        ExportSettings, "lock_wait_seconds")] = None,
) -> None:
    """Write every segment's files for the ad platforms, with a manifest, as a new version.

    Run `norrut score` for the date first; the portal serves the default exports folder. Runs
    as a Prefect flow run named export-<as-of>, so it shows up in the Prefect UI."""
    from rich.console import Console
    from rich.table import Table

    from activation.definitions import SegmentConfigError, load_segments
    from activation.export_run import NoScoresError
    from flows.run import FlowRunFailed, run_export

    settings = settings_from(ExportSettings, ctx, as_of=as_of, exports_dir=exports_dir,
                             segments_file=segments_file, model_name=model_name,
                             lock_wait_seconds=lock_wait_seconds)
    home = settings.norrut_home().ensure()
    try:
        # Checked here too, so a bad file is one line before any run starts.
        config = load_segments(settings.segments_file)
    except SegmentConfigError as problem:
        raise context.fail(str(problem)) from None
    shown = context.resolved_as_of(home, settings.as_of)
    try:
        with context.spinner(f"exporting {len(config.segments)} segment(s) as of "
                     f"{shown.isoformat()} in a Prefect flow run"):
            report = run_export(settings, quiet=True)
    except FlowRunFailed as failed:
        raise context.flow_failure(failed, home,
                                   (NoScoresError, SegmentConfigError, ValueError)) from None
    day = report.as_of
    console = Console()

    model = report.model
    table = Table(title=f"Export v{report.version} as of {day.isoformat()}, model "
                        f"{model['name']} version {model['version']}")
    for column, justify in (("segment", "left"), ("selected", "right"), ("holdout", "right"),
                            ("exported", "right"), ("files (rows)", "left")):
        table.add_column(column, justify=justify, overflow="fold")
    skipped = Table(title="Not written", show_lines=False)
    skipped.add_column("segment", overflow="fold")
    skipped.add_column("destination")
    skipped.add_column("why", overflow="fold")
    for outcome in report.segments:
        files = "\n".join(f"{f.file} ({f.rows:,})" for f in outcome.files) or "-"
        table.add_row(outcome.name, f"{outcome.selected:,}", f"{outcome.holdout:,}",
                      f"{outcome.exported:,}", files)
        if not outcome.written:
            skipped.add_row(outcome.name, "all", outcome.skipped_reason)
        for destination in outcome.destinations_skipped:
            skipped.add_row(outcome.name, destination["destination"], destination["reason"])
    console.print(table)
    if skipped.row_count:
        console.print(skipped)
    totals = ", ".join(f"{destination} {rows:,}"
                       for destination, rows in report.rows_per_destination().items())
    console.print(f"{len(report.segments_written)} segment(s) written, "
                  f"{len(report.segments_skipped)} skipped; rows per destination: "
                  f"{totals or 'none'}")
    console.print(f"Folder: {report.folder}")
