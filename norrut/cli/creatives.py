"""CLI command for insight: `norrut creatives`, the creative report ("What works")."""

from __future__ import annotations

import typer

from insight.settings import CreativesSettings
from norrut.cli.context import JobCommand, fail, job_settings, run_failure
from norrut.cli.progress import progress_bar


def register(app: typer.Typer) -> None:
    """Add this area's commands to the norrut app."""
    app.command("creatives", cls=JobCommand.for_settings(
        CreativesSettings, aliases={"intent_types": "--intent-type",
                                    "engagement_types": "--engagement-type"},
        option_settings={"intent_types": {"metavar": "TYPE[,TYPE...]"},
                         "engagement_types": {"metavar": "TYPE[,TYPE...]"}}))(creatives)


def creatives(ctx: typer.Context) -> None:
    """Which films, images, themes and campaigns are followed by intent: persons who engaged
    with each, against comparable persons (similar champion score before the exposure) who were
    shown it and did not engage. A correlation with adjustment, not a causal effect.

    Stores the report in the warehouse for the portal's "What works" page. The summary is also
    written to <home>/reports/creatives/latest.md; with PREFECT_API_URL set, the command runs as
    a Prefect flow run named creatives-<as-of> of that server instead."""
    from mlflow.exceptions import MlflowException
    from rich.console import Console
    from rich.table import Table

    from flows.run import JobRunFailed, run_creatives
    from insight.creatives import DIMENSIONS, CreativeReportError, check_event_types
    from models.registry import NoChampionError
    from warehouse.db import WarehouseMissingError

    settings = job_settings(ctx)
    home = settings.norrut_home().ensure()
    try:
        check_event_types(settings)  # a typo is one line before any run starts
    except CreativeReportError as problem:
        raise fail(str(problem)) from None
    try:
        with progress_bar("making the creative report") as progress:
            report = run_creatives(settings, quiet=True, progress=progress)
    except JobRunFailed as failed:
        raise run_failure(failed, home, (CreativeReportError, NoChampionError, MlflowException,
                                         WarehouseMissingError)) from None
    windows = report.windows
    console = Console()
    console.print(f"What works as of {windows.as_of.isoformat()}: shown from "
                  f"{windows.exposure_start.isoformat()}, intent from "
                  f"{windows.outcome_start.isoformat()}; {report.persons_scored:,} persons scored "
                  f"by {report.model_name} v{report.model_version}. A correlation with "
                  "adjustment, not a causal effect.", soft_wrap=True)
    for dimension in DIMENSIONS:
        ranked = report.ranked(dimension)
        table = Table(title=f"By {dimension}: top {min(5, ranked.height)} of {ranked.height} "
                            f"ranked, {report.too_small(dimension).height} too small")
        for column in ("rank", "item", "engaged", "not engaged", "difference", "95 % interval"):
            table.add_column(column, justify="left" if column == "item" else "right")
        for row in ranked.head(5).iter_rows(named=True):
            table.add_row(str(row["rank"]), row["item_id"], f"{row['n_engaged_matched']:,}",
                          f"{row['n_not_engaged_matched']:,}",
                          f"{row['adjusted_difference']:+.1%}",
                          f"{row['ci_low']:+.1%} to {row['ci_high']:+.1%}")
        console.print(table)
