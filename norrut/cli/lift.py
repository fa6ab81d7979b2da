"""CLI command for measurement: `norrut lift`."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from norrut.cli.context import home_of


def register(app: typer.Typer) -> None:
    """Add this area's commands to the norrut app."""
    app.command("lift")(lift)


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise typer.BadParameter(f"{value!r} is not a date like 2026-11-01",
                                 param_hint=option) from error


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def lift(
    ctx: typer.Context,
    segment: Annotated[str, typer.Option(
        "--segment", help="Segment whose campaign is measured (its name in the segments YAML).")],
    destination: Annotated[str, typer.Option(
        "--destination", help="Ad platform the campaign ran on: generic, meta, google_ads, "
                              "tiktok, snapchat or the_trade_desk. Its file is the treated "
                              "group.")],
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="As-of date of the export run (YYYY-MM-DD; default: the newest that "
                        "wrote the segment).", show_default=False)] = None,
    export_version: Annotated[int | None, typer.Option(
        "--export-version", min=1, help="Export version v<N> of that date (default: the newest "
                                        "that wrote the segment).", show_default=False)] = None,
    start: Annotated[str | None, typer.Option(
        "--start", help="First day of the measurement period (YYYY-MM-DD; default: the day "
                        "after the as-of date).", show_default=False)] = None,
    end: Annotated[str | None, typer.Option(
        "--end", help="Last day of the measurement period (YYYY-MM-DD; default: the day of "
                      "the newest event in the warehouse).", show_default=False)] = None,
    campaign: Annotated[str | None, typer.Option(
        "--campaign", help="Campaign name, also the file name lift/<campaign>.json (letters, "
                           "digits, '.', '_', '-'; default: <segment>-<as-of>-v<N>-"
                           "<destination>).", show_default=False)] = None,
    intent_types: Annotated[list[str] | None, typer.Option(
        "--intent-type", help="An intent event type that counts as a conversion; repeat for "
                              "several (default: all five, as for the model's label).",
        show_default=False)] = None,
    exports_dir: Annotated[Path | None, typer.Option(
        "--exports-dir", file_okay=False, help="Exports folder holding the export runs; the "
                                               "lift file goes into its lift/ folder (default: "
                                               "<home>/exports, which the portal serves).",
        show_default=False)] = None,
    lock_wait_seconds: Annotated[float, typer.Option(
        "--lock-wait-seconds", min=0,
        help="How long to wait for another run to release the warehouse.")] = 600.0,
) -> None:
    """Measure a campaign's lift: intent events of the persons an export sent to a platform
    against the segment's holdout, written to <exports>/lift/<campaign>.json for the portal.

    Runs as a Prefect flow run named lift-<as-of>, so it shows up in the Prefect UI."""
    from pydantic import ValidationError
    from rich.console import Console
    from rich.table import Table

    from activation.lift import LiftInputError, check_lift_inputs
    from core.contract import INTENT_EVENT_TYPES
    from core.locking import WarehouseBusyError
    from flows.run import FlowRunFailed, run_lift
    from flows.settings import LiftSettings
    from warehouse.db import WarehouseMissingError

    home = home_of(ctx).ensure()
    console = Console()
    try:
        settings = LiftSettings(
            home=str(home.root), segment=segment, as_of=_day(as_of, "--as-of"),
            export_version=export_version, destination=destination,
            start=_day(start, "--start"), end=_day(end, "--end"), campaign=campaign,
            intent_types=intent_types or None,
            exports_dir=str(exports_dir.resolve()) if exports_dir else None,
            lock_wait_seconds=lock_wait_seconds)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                             for e in error.errors())
        raise _fail(problems) from None
    try:
        # Checked here too, so a typo is one line before any run starts.
        check_lift_inputs(settings.segment, settings.destination, settings.campaign,
                          tuple(settings.intent_types or INTENT_EVENT_TYPES))
    except LiftInputError as problem:
        raise _fail(str(problem)) from None
    try:
        with console.status(f"measuring the lift of {segment} on {destination} in a Prefect "
                            "flow run"):
            measurement = run_lift(settings, quiet=True)
    except FlowRunFailed as failed:
        cause = failed.__cause__
        if isinstance(cause, (LiftInputError, WarehouseBusyError, WarehouseMissingError)):
            raise _fail(str(cause)) from None
        raise _fail(f"the flow run failed: {failed}") from None

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
