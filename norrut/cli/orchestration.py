"""CLI commands for orchestration: `norrut pipeline` runs the pipeline flow end to end."""

from __future__ import annotations

import os

import typer

from flows.settings import PipelineSettings
from norrut.cli.context import SEGMENTS_FILE_ENV_VAR, JobCommand, job_settings


def register(app: typer.Typer) -> None:
    """Add this area's commands to the norrut app."""
    app.command("pipeline", cls=JobCommand.for_settings(
        PipelineSettings, aliases={"segments_file": "--segments"},
        option_settings={"inbox": {"exists": True, "file_okay": False},
                         "catalog": {"exists": True, "dir_okay": False},
                         "segments_file": {"envvar": SEGMENTS_FILE_ENV_VAR, "exists": True,
                                           "dir_okay": False}}))(pipeline_command)


def pipeline_command(ctx: typer.Context) -> None:
    """Ingest, build features, train when due, score and export, as one Prefect flow run."""
    from rich.console import Console

    from flows.run import JobRunFailed, run_pipeline

    console = Console(soft_wrap=True)  # an error stays on one line, however long
    settings = job_settings(ctx)
    home = settings.norrut_home()
    try:
        result = run_pipeline(settings)
    except JobRunFailed as failed:
        console.print(f"[red]The pipeline run failed:[/red] {failed}")
        raise typer.Exit(2) from None
    # Plain echo, not Rich: paths and commands must stay on one line to be copied.
    typer.echo(where_to_look(home, result.export))


def where_to_look(home, export) -> str:
    """The closing message: where the segment files are, and how to open the three UIs."""
    prefect_home = os.environ.get("PREFECT_HOME")
    prefect_prefix = f"PREFECT_HOME={prefect_home} " if prefect_home else ""
    skipped = "".join(f"\n  skipped {s.name}: {s.skipped_reason}" for s in export.segments_skipped)
    return "\n".join([
        "",
        f"Segment files:   {export.folder}",
        f"  {len(export.segments_written)} segment(s) written: "
        + ", ".join(s.name for s in export.segments_written) + skipped,
        "",
        "Prefect UI (runs and their summaries, under Artifacts):",
        f"  {prefect_prefix}PREFECT_SERVER_ANALYTICS_ENABLED=false uv run --locked prefect server start",
        "  then open http://127.0.0.1:4200",
        "MLflow UI (models and their metrics):",
        f"  uv run --locked mlflow ui --backend-store-uri {home.mlflow_tracking_uri}",
        "  then open http://127.0.0.1:5000",
        "Segment portal (download the files; the first command, once, adds your account):",
        f"  uv run --locked norrut --home {home.root} users add YOUR-NAME --admin",
        f"  uv run --locked norrut --home {home.root} serve",
        "  then open http://127.0.0.1:8000",
    ])
