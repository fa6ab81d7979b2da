"""CLI command for measurement: `norrut lift`."""

from __future__ import annotations

import typer

from activation.settings import LiftSettings
from norrut.cli.context import JobCommand, fail, job_settings, run_failure, spinner


def register(app: typer.Typer) -> None:
    """Add this area's commands to the norrut app."""
    app.command("lift", cls=JobCommand.for_settings(
        LiftSettings, aliases={"intent_types": "--intent-type"},
        option_settings={"intent_types": {"metavar": "TYPE[,TYPE...]"},
                         "exports_dir": {"file_okay": False}}))(lift)


def lift(ctx: typer.Context) -> None:
    """Measure a campaign's lift: intent events of the persons an export sent to a platform
    against the segment's holdout, written to <exports>/lift/<campaign>.json for the portal.

    The summary is also written to <home>/reports/lift/latest.md; with PREFECT_API_URL set,
    the command runs as a Prefect flow run named lift-<as-of> of that server instead."""
    from rich.console import Console
    from rich.table import Table

    from activation.lift import LiftInputError, check_lift_inputs
    from core.contract import INTENT_EVENT_TYPES
    from flows.run import JobRunFailed, run_lift
    from warehouse.db import WarehouseMissingError

    settings = job_settings(ctx)
    home = settings.norrut_home().ensure()
    console = Console()
    try:
        # Checked here too, so a typo is one line before any run starts.
        check_lift_inputs(settings.segment, settings.destination, settings.campaign,
                          tuple(settings.intent_types or INTENT_EVENT_TYPES))
    except LiftInputError as problem:
        raise fail(str(problem)) from None
    try:
        with spinner(f"measuring the lift of {settings.segment} on {settings.destination}"):
            measurement = run_lift(settings, quiet=True)
    except JobRunFailed as failed:
        raise run_failure(failed, home, (LiftInputError, WarehouseMissingError)) from None

    table = Table(title=f"Lift of {measurement.segment} as of {measurement.as_of.isoformat()} "
                        f"v{measurement.export_version} on {measurement.destination}, "
                        f"{measurement.start.isoformat()} to {measurement.end.isoformat()}")
    for column, justify in (("group", "left"), ("persons", "right"), ("converted", "right"),
                            ("rate", "right")):
        table.add_column(column, justify=justify)
    for name, outcome in (("treated", measurement.treated), ("holdout", measurement.holdout)):
        rate = "-" if outcome.rate is None else f"{outcome.rate:.2%}"
        table.add_row(name, f"{outcome.persons:,}", f"{outcome.converted:,}", rate)
    console.print(table)
    lift_text = ("not known (a group has no persons, or the holdout no conversions)"
                 if measurement.relative_lift is None else f"{measurement.relative_lift:+.1%}")
    interval = ("not given (a group has no conversions)"
                if measurement.relative_lift_ci95 is None
                else "{:+.1%} to {:+.1%}".format(*measurement.relative_lift_ci95))
    console.print(f"relative lift: {lift_text}; 95 % interval: {interval}")
    if measurement.treated_ids_opted_out or measurement.holdout_unreachable:
        console.print(f"left out: {measurement.treated_ids_opted_out:,} sent id(s) of persons "
                      f"who opted out since; {measurement.holdout_unreachable:,} held-out "
                      f"person(s) {measurement.destination} could not have reached")
    console.print(f"File: {measurement.path}", soft_wrap=True)
