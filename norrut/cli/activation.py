"""CLI commands for activation: `norrut score` and `norrut export`."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from norrut.cli.context import home_of

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


def _flow_failure(failed, user_errors: tuple[type[BaseException], ...]) -> typer.Exit:
    """One line for a failed flow run: the user's mistake (or a busy warehouse) as it was
    raised, anything else as the run's own error."""
    from core.locking import WarehouseBusyError

    cause = failed.__cause__
    if isinstance(cause, (WarehouseBusyError, *user_errors)):
        return _fail(str(cause))
    return _fail(f"the flow run failed: {failed}")


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
    """Score every person who may be targeted with the champion model and store the scores.

    Runs as a Prefect flow run named score-<as-of>, so it shows up in the Prefect UI."""
    from mlflow.exceptions import MlflowException
    from rich.console import Console
    from rich.table import Table

    from activation.champion import NoChampionError
    from activation.scoring import NoFeaturesError
    from flows.run import FlowRunFailed, run_score
    from flows.settings import ScoreSettings

    day = _as_of(as_of)
    home = home_of(ctx).ensure()
    console = Console()
    settings = ScoreSettings(home=str(home.root), as_of=day, model_name=model_name,
                             out=str(out.resolve()) if out else None,
                             lock_wait_seconds=lock_wait_seconds)
    try:
        with console.status(f"scoring as of {day.isoformat()} in a Prefect flow run"):
            result = run_score(settings, quiet=True)
    except FlowRunFailed as failed:
        raise _flow_failure(failed, (NoChampionError, NoFeaturesError, MlflowException,
                                     ValueError)) from None

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
        help="Segments YAML file (default: the shipped activation/default_segments.yaml).",
        show_default=False)] = None,
    model_name: Annotated[str | None, typer.Option(
        "--model-name", help="Export this model's scores (default: the model most recently "
                             "scored for the date).", show_default=False)] = None,
    lock_wait_seconds: Annotated[float, typer.Option(
        "--lock-wait-seconds", min=0,
        help="How long to wait for another run to release the warehouse.")] = 600.0,
) -> None:
    """Write every segment's files for the ad platforms, with a manifest, as a new version.

    Runs as a Prefect flow run named export-<as-of>, so it shows up in the Prefect UI."""
    from rich.console import Console
    from rich.table import Table

    from activation.definitions import SegmentConfigError, load_segments
    from activation.export_run import NoScoresError
    from flows.run import FlowRunFailed, run_export
    from flows.settings import ExportSettings

    day = _as_of(as_of)
    home = home_of(ctx).ensure()
    console = Console()
    try:
        # Checked here too, so a bad file is one line before any run starts.
        config = load_segments(segments)
    except SegmentConfigError as problem:
        raise _fail(str(problem)) from problem
    settings = ExportSettings(
        home=str(home.root), as_of=day, segments_file=str(segments.resolve()) if segments else None,
        model_name=model_name, exports_dir=str(out.resolve()) if out else None,
        lock_wait_seconds=lock_wait_seconds)
    try:
        with console.status(f"exporting {len(config.segments)} segment(s) as of "
                            f"{day.isoformat()} in a Prefect flow run"):
            report = run_export(settings, quiet=True)
    except FlowRunFailed as failed:
        raise _flow_failure(failed, (NoScoresError, SegmentConfigError, ValueError)) from None

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
