"""CLI commands for orchestration: `norrut pipeline` runs the pipeline flow end to end."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from flows.settings import PipelineSettings
from norrut.cli.context import NorrutCommand, setting_option, settings_from


def register(app: typer.Typer) -> None:
    """Add this area's commands to the norrut app."""
    app.command("pipeline", cls=NorrutCommand)(pipeline_command)


def pipeline_command(
    ctx: typer.Context,
    as_of: Annotated[date | None, setting_option(PipelineSettings, "as_of")] = None,
    inbox: Annotated[Path | None, setting_option(
        PipelineSettings, "inbox", exists=True, file_okay=False)] = None,
    catalog: Annotated[Path | None, setting_option(
        PipelineSettings, "catalog", exists=True, dir_okay=False)] = None,
    segments_file: Annotated[Path | None, setting_option(
        PipelineSettings, "segments_file", "--segments", envvar="NORRUT_SEGMENTS_FILE",
        exists=True, dir_okay=False)] = None,
    retrain_after_days: Annotated[int | None, setting_option(
        PipelineSettings, "retrain_after_days")] = None,
    lock_wait_seconds: Annotated[float | None, setting_option(
        PipelineSettings, "lock_wait_seconds")] = None,
) -> None:
    """Ingest, build features, train when due, score and export, as one Prefect flow run."""
    from rich.console import Console

    from flows.run import FlowRunFailed, run_pipeline

    console = Console(soft_wrap=True)  # an error stays on one line, however long
    settings = settings_from(
        PipelineSettings, ctx, as_of=as_of, inbox=inbox, catalog=catalog,
        segments_file=segments_file, retrain_after_days=retrain_after_days,
        lock_wait_seconds=lock_wait_seconds)
    home = settings.norrut_home()
    try:
        result = run_pipeline(settings)
    except FlowRunFailed as failed:
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
