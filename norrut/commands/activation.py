"""CLI commands for activation: `norrut score` and `norrut export`."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from norrut.cli import home_of

DEFAULT_MODEL_NAME = "curious-about-working-here"


def register(app: typer.Typer) -> None:
    """Add this area's commands to the norrut app."""
    app.command("score")(score)
    app.command("export")(export)


def _as_of(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise typer.BadParameter(f"{value!r} is not a date like 2026-11-01") from error


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def score(
    ctx: typer.Context,
    as_of: Annotated[str, typer.Option(
        "--as-of", help="Score with the features of this date (YYYY-MM-DD).")],
    out: Annotated[Path | None, typer.Option(
        "--out", help="Also write the ranked list as the contract's generic CSV "
                      "(person_id,id_type,score,rank,decile) to this file.",
        dir_okay=False)] = None,
    model_name: Annotated[str, typer.Option(
        "--model-name", help="Registered model whose `champion` version scores.",
    )] = DEFAULT_MODEL_NAME,
    lock_wait_seconds: Annotated[float, typer.Option(
        "--lock-wait-seconds", min=0,
        help="How long to wait for another run to release the warehouse.")] = 600.0,
) -> None:
    """Score every person who may be targeted with the champion model and store the scores."""
    from mlflow.exceptions import MlflowException
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from norrut.locking import WarehouseBusyError, warehouse_writer_lock
    from segments.champion import NoChampionError
    from segments.scoring import NoFeaturesError, score_persons

    day = _as_of(as_of)
    home = home_of(ctx).ensure()
    console = Console()
    try:
        with warehouse_writer_lock(home.warehouse_path, home.locks_dir, run_name="norrut score",
                                   wait_seconds=lock_wait_seconds), \
                Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                         console=console, transient=True) as progress:
            task = progress.add_task("scoring", total=None)
            result = score_persons(home.warehouse_path, day, home.mlflow_tracking_uri,
                                   model_name, out,
                                   on_step=lambda step: progress.update(task, description=step))
    except (NoChampionError, NoFeaturesError, WarehouseBusyError, MlflowException,
            ValueError) as problem:
        raise _fail(str(problem)) from problem

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
    as_of: Annotated[str, typer.Option(
        "--as-of", help="Export the scores of this date (YYYY-MM-DD); run `norrut score` first.")],
    out: Annotated[Path | None, typer.Option(
        "--out", help="Exports folder to write into (default: <home>/exports, which the portal "
                      "serves).", file_okay=False, show_default=False)] = None,
    segments: Annotated[Path | None, typer.Option(
        "--segments", envvar="NORRUT_SEGMENTS_FILE", dir_okay=False,
        help="Segments YAML file (default: the shipped segments/default_segments.yaml).",
        show_default=False)] = None,
    model_name: Annotated[str | None, typer.Option(
        "--model-name", help="Export this model's scores (default: the model most recently "
                             "scored for the date).", show_default=False)] = None,
    lock_wait_seconds: Annotated[float, typer.Option(
        "--lock-wait-seconds", min=0,
        help="How long to wait for another run to release the warehouse.")] = 600.0,
) -> None:
    """Write every segment's files for the ad platforms, with a manifest, as a new version."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from rich.table import Table

    from norrut.locking import WarehouseBusyError, warehouse_writer_lock
    from segments.definitions import SegmentConfigError, load_segments
    from segments.export_run import ExportSettings, NoScoresError, export_segments

    day = _as_of(as_of)
    home = home_of(ctx).ensure()
    console = Console()
    try:
        config = load_segments(segments)
    except SegmentConfigError as problem:
        raise _fail(str(problem)) from problem
    exports_dir = out if out is not None else home.exports_dir
    try:
        with warehouse_writer_lock(home.warehouse_path, home.locks_dir, run_name="norrut export",
                                   wait_seconds=lock_wait_seconds), \
                Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                         console=console, transient=True) as progress:
            task = progress.add_task("segments", total=len(config.segments))
            started: list[str] = []

            def on_segment(name: str) -> None:
                if started:
                    progress.advance(task)
                started.append(name)
                progress.update(task, description=name)

            report = export_segments(home.warehouse_path, exports_dir, day,
                                     ExportSettings(config, model_name), on_segment=on_segment)
    except (NoScoresError, WarehouseBusyError, ValueError) as problem:
        raise _fail(str(problem)) from problem

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
