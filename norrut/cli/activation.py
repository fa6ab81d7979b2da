"""CLI commands for activation: `norrut score` and `norrut export`."""

from __future__ import annotations

import typer

from activation.settings import ExportSettings, ScoreSettings
from norrut.cli import context
from norrut.cli.context import SEGMENTS_FILE_ENV_VAR, JobCommand, job_settings
from norrut.cli.progress import progress_bar


def register(app: typer.Typer) -> None:
    """Add this area's commands to the norrut app."""
    app.command("score", cls=JobCommand.for_settings(
        ScoreSettings, option_settings={"out": {"dir_okay": False}}))(score)
    app.command("export", cls=JobCommand.for_settings(
        ExportSettings, aliases={"exports_dir": "--out", "segments_file": "--segments"},
        option_settings={"exports_dir": {"file_okay": False}, "segments_file": {
            "envvar": SEGMENTS_FILE_ENV_VAR, "dir_okay": False}}))(export)


def score(ctx: typer.Context) -> None:
    """Score every person who may be targeted with the champion model and store the scores.

    The date's features are built first when none were built for it. The ranked list written
    with --out is the contract's generic CSV (person_id, id_type, score, rank, decile). The
    summary is also written to <home>/reports/score/latest.md; with PREFECT_API_URL set, the
    command runs as a Prefect flow run named score-<as-of> of that server instead."""
    from mlflow.exceptions import MlflowException
    from rich.console import Console
    from rich.table import Table

    from activation.scoring import NoFeaturesError
    from features.build import has_features
    from flows.run import JobRunFailed, run_score
    from models.registry import NoChampionError

    settings = job_settings(ctx)
    home = settings.norrut_home().ensure()
    shown = context.resolved_as_of(home, settings.as_of)
    # The flow decides to build them; read here too, to say so before the run starts.
    with context.reading_the_warehouse(home):
        features_missing = not has_features(home.warehouse_path, shown)
    if features_missing:
        typer.echo(f"no features built for {shown.isoformat()} yet: building them first")
    try:
        with progress_bar(f"scoring as of {shown.isoformat()}") as progress:
            result = run_score(settings, quiet=True, progress=progress)
    except JobRunFailed as failed:
        raise context.run_failure(
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


def export(ctx: typer.Context) -> None:
    """Write every segment's files for the ad platforms, with a manifest, as a new version.

    Run `norrut score` for the date first; the portal serves the default exports folder. The
    summary is also written to <home>/reports/export/latest.md; with PREFECT_API_URL set, the
    command runs as a Prefect flow run named export-<as-of> of that server instead."""
    from rich.console import Console
    from rich.table import Table

    from activation.definitions import SegmentConfigError, load_segments
    from activation.export_run import NoScoresError
    from flows.run import JobRunFailed, run_export

    settings = job_settings(ctx)
    home = settings.norrut_home().ensure()
    try:
        # Checked here too, so a bad file is one line before any run starts.
        config = load_segments(settings.segments_file)
    except SegmentConfigError as problem:
        raise context.fail(str(problem)) from None
    shown = context.resolved_as_of(home, settings.as_of)
    try:
        with progress_bar(f"export as of {shown.isoformat()}", len(config.segments),
                          unit="segments") as progress:
            report = run_export(settings, quiet=True, progress=progress)
    except JobRunFailed as failed:
        raise context.run_failure(failed, home,
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
        files = "\n".join(f"{f.file} ({f.rows:,})"
                          for f in outcome.files + outcome.delta_files) or "-"
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
