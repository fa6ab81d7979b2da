"""`norrut simulate`: write a synthetic world (inbox, catalog, opt-outs and its hidden truth)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from norrut.cli.context import DATE_FORMAT, NorrutCommand, fail, parse_date


def simulate(
    out: Annotated[Path, typer.Argument(
        metavar="OUT",
        help="Folder to write the world into (an earlier world there is replaced; any other "
             "non-empty folder is refused).")],
    persons: Annotated[int, typer.Option(
        "--persons", min=10, help="Number of simulated persons.")] = 50_000,
    days: Annotated[int, typer.Option(
        "--days", min=3, help="Days of events in the inbox, ending on --end.")] = 90,
    seed: Annotated[int, typer.Option(
        "--seed", min=0, help="Random seed; the same arguments give byte-identical files.")] = 7,
    faults: Annotated[bool, typer.Option(
        "--faults/--no-faults",
        help="Plant bad rows of every kind, duplicates, unknown columns, a truncated gzip, an "
             "unreadable file and a re-delivered file (counts in truth/expected_ingest.json).",
    )] = False,
    end: Annotated[date, typer.Option(
        "--end", parser=parse_date, metavar=DATE_FORMAT,
        help="Last day of events; the day after is the natural as-of date.",
    )] = date(2026, 11, 1),
    files: Annotated[int, typer.Option(
        "--files", min=1, max=50, help="Event files per format (JSON, CSV, Parquet).")] = 4,
    shift_from: Annotated[date | None, typer.Option(
        "--shift-from", parser=parse_date, metavar=DATE_FORMAT,
        help="Plant a behaviour shift from this day on: engagement falls to --shift-activity "
             "of its rate, so a model trained before it sees its features drift.")] = None,
    shift_activity: Annotated[float, typer.Option(
        "--shift-activity", min=0.01, help="Engagement rate after --shift-from, as a share of "
             "the rate before it.")] = 0.3,
    strong_film: Annotated[str | None, typer.Option(
        "--strong-film", metavar="FILM",
        help="Plant a film (film-001 ... film-100) whose viewing really raises later intent "
             "(for `norrut creatives` to find; simulator/planted_films.py).")] = None,
    keen_film: Annotated[str | None, typer.Option(
        "--keen-film", metavar="FILM",
        help="Plant a film with no effect, viewed mostly by persons who already did intent "
             "events (for `norrut creatives` to see through).")] = None,
) -> None:
    """Write a synthetic world that follows the data contract: OUT/inbox, OUT/catalog.csv,
    OUT/optouts.csv, OUT/truth/ and OUT/world.json."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from simulator.world import WorldSettings, simulate_world

    settings = WorldSettings(persons=persons, days=days, seed=seed, end=end,
                             faults=faults, files_per_format=files, shift_from=shift_from,
                             shift_activity=shift_activity, strong_film=strong_film,
                             keen_film=keen_film)
    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=False) as progress:
        tasks: dict[str, int] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        try:
            summary = simulate_world(out, settings, report)
        except (FileExistsError, ValueError) as error:
            raise fail(str(error)) from error
    counts = summary["counts"]
    console.print(
        f"Wrote {counts['events']:,} events of {counts['persons_with_events']:,} persons in "
        f"{counts['inbox_files']} inbox files, {counts['catalog_items']} catalog items and "
        f"{counts['optouts']} opt-outs to {out}"
        + (f" ({counts['fault_rows']} planted bad rows)" if faults else "")
    )


def register(app: typer.Typer) -> None:
    """Add this area's commands to the norrut app."""
    app.command("simulate", cls=NorrutCommand)(simulate)
