"""Campaign lift: how many of the persons an export sent to one ad platform showed intent
afterwards, against the segment's holdout, written as `<exports_dir>/lift/<campaign>.json`
(the format of portal/README.md, "Lift results").

Who was treated is read from the destination's files of that export run, checked against the
SHA-256s in the segment's manifest: the files are the only record of who was sent. The warehouse
does not record them, and deriving them again from the scores would not be truthful (consent,
opt-outs and a rescoring of the same date change the eligible population the export selected
from, and so the cut-offs of `top_k`/`top_fraction`). Each id in a file is matched back to the
warehouse person the exporter would have written as that id (as is, lower-cased, or SHA-256 of
the lower-cased id).

The holdout is `marts.segment_holdouts` of the same run, narrowed to the persons the destination
could have reached (its id types and usable ids), so both groups are alike except for the ads.
Persons who opted out are in neither group. On a sharded warehouse the persons are found in their
shards and gathered here before the units are counted (activation/lift_persons.py).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from activation.definitions import destination_names, is_valid_segment_name
from activation.export_store import (
    ExportDocumentError,
    lift_file_path,
    list_runs,
    newest_version_with_segment,
    read_manifest,
    segment_folder,
    versions_with_segment,
)
from activation.exporters import EXPORTERS
from activation.exporters.base import entry_kind
from activation.lift_persons import LiftQuestion, combined, lift_rows_in, lift_rows_on_shards
from activation.settings import LiftSettings
from core.contract import INTENT_EVENT_TYPES
from core.engine import ShardRunner, given_or_configured, run_here
from warehouse.as_of import newest_event_date
from warehouse.db import open_warehouse
from warehouse.shards import layout_of, read_layout
from warehouse.sql_files import read_sql

LIFT_VERSION = 1
TEMP_PREFIX = ".tmp-lift-"
# A campaign name becomes a file name: no separators, no leading dot (hidden files are ignored
# by the portal), nothing a shell or a URL would need to quote.
CAMPAIGN_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
# Two-sided 95 % normal quantile.
Z_95 = 1.959963984540054


class LiftInputError(LookupError):
    """The export run, segment, destination, period or campaign asked for cannot be measured."""


@dataclass(frozen=True)
class GroupOutcome:
    """Persons of one group and how many of them had an intent event in the period."""

    persons: int
    converted: int

    @property
    def rate(self) -> float | None:
        return self.converted / self.persons if self.persons else None

    def as_document(self) -> dict[str, int]:
        return {"persons": self.persons, "converted": self.converted}


@dataclass(frozen=True)
class LiftMeasurement:
    campaign: str
    segment: str
    as_of: date
    export_version: int
    destination: str
    start: date
    end: date
    measured_at: datetime
    treated: GroupOutcome
    holdout: GroupOutcome
    relative_lift: float | None
    relative_lift_ci95: tuple[float, float] | None
    path: Path
    # Ids in the destination's files that match no person any more (opted out, so erased).
    treated_ids_opted_out: int
    # Held-out persons the destination could not have reached (another id type, unusable id).
    holdout_unreachable: int

    def as_document(self) -> dict[str, Any]:
        """The lift file (portal/README.md); lift and interval are left out when unknown."""
        document: dict[str, Any] = {
            "lift_version": LIFT_VERSION,
            "campaign": self.campaign,
            "segment": self.segment,
            "as_of": self.as_of.isoformat(),
            "export_version": self.export_version,
            "destination": self.destination,
            "period": {"start": self.start.isoformat(), "end": self.end.isoformat()},
            "measured_at": self.measured_at.astimezone(UTC).replace(microsecond=0)
            .isoformat().replace("+00:00", "Z"),
            "treated": self.treated.as_document(),
            "holdout": self.holdout.as_document(),
        }
        if self.relative_lift is not None:
            document["relative_lift"] = self.relative_lift
        if self.relative_lift_ci95 is not None:
            document["relative_lift_ci95"] = list(self.relative_lift_ci95)
        return document


def lift(settings: LiftSettings, shard_runner: ShardRunner | None = None) -> LiftMeasurement:
    """The lift job: the settings' export run (as-of date and version resolved) on their
    destination, over their period. A sharded warehouse's shards run by `shard_runner` when
    given (a flow run's), else on the cluster $NORRUT_DASK_SCHEDULER names, else here."""
    if settings.as_of is None:
        raise ValueError("resolve the export run first (newest_export_as_of)")
    warehouse_path = settings.norrut_home().warehouse_path

    def measure(runner: ShardRunner) -> LiftMeasurement:
        return measure_lift(
            warehouse_path, settings.exports_path(), settings.segment, settings.as_of,
            settings.destination, export_version=settings.export_version, start=settings.start,
            end=settings.end, campaign=settings.campaign,
            intent_types=settings.intent_types or INTENT_EVENT_TYPES, shard_runner=runner)

    if read_layout(warehouse_path) is None:
        return measure(run_here)
    with given_or_configured(shard_runner) as runner:
        return measure(runner or run_here)


def measure_lift(
    warehouse_path: str | os.PathLike[str],
    exports_dir: str | os.PathLike[str],
    segment: str,
    as_of: date,
    destination: str,
    *,
    export_version: int | None = None,
    start: date | None = None,
    end: date | None = None,
    campaign: str | None = None,
    intent_types: tuple[str, ...] = INTENT_EVENT_TYPES,
    measured_at: datetime | None = None,
    shard_runner: ShardRunner = run_here,
) -> LiftMeasurement:
    """Measure one export run's segment on one destination and write its lift file. A sharded
    warehouse finds the persons in its shards, each shard's task run by `shard_runner`
    (activation/lift_persons.py).

    `export_version` defaults to the newest version of `as_of` that wrote the segment; the period
    defaults to the day after `as_of` through the day of the newest event in the warehouse.
    A rerun with the same inputs rewrites the same file with the same numbers.
    """
    exports_dir = Path(exports_dir)
    check_lift_inputs(segment, destination, campaign, intent_types)
    version = export_version or newest_export_version(exports_dir, segment, as_of)
    manifest = read_run_manifest(exports_dir, segment, as_of, version)
    _check_holdout_not_replaced(exports_dir, segment, as_of, version)
    exported_ids = read_exported_ids(segment_folder(exports_dir, as_of, version, segment),
                                     manifest, destination)
    campaign = campaign or default_campaign_name(segment, as_of, version, destination)
    start = start or as_of + timedelta(days=1)
    if start < as_of:
        raise LiftInputError(f"the period starts {start.isoformat()}, before the as-of date "
                             f"{as_of.isoformat()}: the audience did not exist yet")

    with open_warehouse(warehouse_path, read_only=True) as con:
        con.execute(read_sql("queries/contract_macros.sql"))
        if end is None:
            end = newest_event_date(con, warehouse_path)
            if end is None:
                raise LiftInputError("the warehouse holds no events to measure")
        if end < start:
            raise LiftInputError(f"the period {start.isoformat()} to {end.isoformat()} is "
                                 "empty: it ends before it starts (by default it ends on the "
                                 "day of the newest event)")
        holdout = _holdout_persons(con, segment, as_of, version)
        reachable = holdout.filter(reachable_by(destination))
        ids = pa.table({"file_id": pa.array(exported_ids, pa.string())})
        question = LiftQuestion(EXPORTERS[destination].id_form, start, end, tuple(intent_types))
        held_out = reachable.select("person_id").to_arrow()
        layout = layout_of(con, warehouse_path)
        if layout is None:
            rows = combined([lift_rows_in(con, ids, held_out, question)])
        else:
            rows = lift_rows_on_shards(layout, ids, held_out, question, shard_runner)
        treated = pl.from_arrow(rows.treated)
        outcomes = _count_conversions(con, treated, reachable, rows.converted)

    treated_outcome, holdout_outcome = outcomes["treated"], outcomes["holdout"]
    lift = relative_lift(treated_outcome, holdout_outcome)
    measurement = LiftMeasurement(
        campaign=campaign, segment=segment, as_of=as_of, export_version=version,
        destination=destination, start=start, end=end,
        measured_at=measured_at or datetime.now(UTC),
        treated=treated_outcome, holdout=holdout_outcome,
        relative_lift=None if lift is None else round(lift, 6),
        relative_lift_ci95=relative_lift_ci95(treated_outcome, holdout_outcome),
        path=lift_file_path(exports_dir, campaign),
        treated_ids_opted_out=len(set(exported_ids)) - treated["file_id"].n_unique(),
        holdout_unreachable=holdout.height - reachable.height,
    )
    write_lift_file(measurement.path, measurement.as_document())
    return measurement


def relative_lift(treated: GroupOutcome, holdout: GroupOutcome) -> float | None:
    """treated rate / holdout rate - 1; None when either rate is unknown or the holdout's is 0."""
    if treated.rate is None or not holdout.rate:
        return None
    return treated.rate / holdout.rate - 1


def relative_lift_ci95(treated: GroupOutcome, holdout: GroupOutcome) -> tuple[float, float] | None:
    """95 % interval for the relative lift: the Wald interval of the log ratio of two
    proportions (Katz et al. 1978), log RR ± 1.96·sqrt(1/a − 1/n₁ + 1/c − 1/n₂), minus 1.

    None when a group has no conversions (or no persons): the log ratio is then undefined,
    and an interval from a continuity correction would be a number we made up."""
    a, n1, c, n2 = treated.converted, treated.persons, holdout.converted, holdout.persons
    if min(a, n1, c, n2) == 0:
        return None
    log_ratio = math.log((a / n1) / (c / n2))
    standard_error = math.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n2)
    return (round(math.exp(log_ratio - Z_95 * standard_error) - 1, 6),
            round(math.exp(log_ratio + Z_95 * standard_error) - 1, 6))


def reachable_by(destination: str) -> pl.Expr:
    """Persons (person_id, id_type) the destination's exporter would have kept: the same rule
    as Exporter.prepare, so the holdout is cut exactly like the treated group was."""
    return EXPORTERS[destination]().reaches()


def default_campaign_name(segment: str, as_of: date, version: int, destination: str) -> str:
    """`<segment>-<as_of>-v<N>-<destination>`: one file per measured export and platform."""
    return f"{segment}-{as_of.isoformat()}-v{version}-{destination}"


def newest_export_version(exports_dir: Path, segment: str, as_of: date) -> int:
    """The highest v<N> of the as-of date whose run wrote the segment."""
    version = newest_version_with_segment(exports_dir, segment, as_of)
    if version is None:
        raise LiftInputError(f"no export run of {as_of.isoformat()} wrote segment {segment!r} "
                             f"in {exports_dir}{_known_runs(exports_dir, segment)}")
    return version


def newest_export_as_of(exports_dir: Path, segment: str) -> date:
    """The latest as-of date with an export run that wrote the segment."""
    days = [run.as_of for run in list_runs(exports_dir) if run.has_segment(segment)]
    if not days:
        raise LiftInputError(f"no export run in {exports_dir} wrote segment {segment!r}")
    return days[-1]


def read_run_manifest(exports_dir: Path, segment: str, as_of: date,
                      version: int) -> dict[str, Any]:
    """The segment's manifest in that run; LiftInputError when there is none to read."""
    try:
        return read_manifest(segment_folder(exports_dir, as_of, version, segment))
    except ExportDocumentError as error:
        if error.missing:
            raise LiftInputError(
                f"export v{version} of {as_of.isoformat()} has no segment {segment!r} in "
                f"{exports_dir}{_known_runs(exports_dir, segment)}") from None
        raise LiftInputError(f"{error.path} {error.reason}") from error


def read_exported_ids(segment_folder: Path, manifest: dict[str, Any],
                      destination: str) -> list[str]:
    """Every id in the destination's full files, after checking each is the one exported."""
    entries = [entry for entry in manifest.get("files", [])
               if entry.get("destination") == destination and entry_kind(entry) == "full"]
    if not entries:
        skipped = {item.get("destination"): item.get("reason")
                   for item in manifest.get("destinations_skipped", [])}
        written = sorted({entry.get("destination") for entry in manifest.get("files", [])})
        why = (f": {skipped[destination]}" if destination in skipped
               else f"; it has files for {', '.join(written) or 'no destination'}")
        run = f"{segment_folder.parent.parent.name} {segment_folder.parent.name}"
        raise LiftInputError(f"segment {segment_folder.name!r} of {run} was not exported to "
                             f"{destination}{why}")
    ids: list[str] = []
    for entry in entries:
        path = segment_folder / entry["file"]
        if Path(entry["file"]).name != entry["file"] or not path.is_file():
            raise LiftInputError(f"{path} is missing: who was sent to {destination} is unknown")
        if _sha256_of(path) != entry.get("sha256"):
            raise LiftInputError(f"{path} differs from the file the export wrote "
                                 "(its SHA-256 is not the manifest's)")
        file_ids = ids_in_file(path, destination)
        if len(file_ids) != entry.get("rows"):
            raise LiftInputError(f"{path} holds {len(file_ids)} ids, the manifest says "
                                 f"{entry.get('rows')}")
        ids.extend(file_ids)
    return ids


def ids_in_file(path: Path, destination: str) -> list[str]:
    """The ids of one of the destination's files, in file order."""
    return EXPORTERS[destination]().read_ids(path).to_list()


def write_lift_file(path: Path, document: dict[str, Any]) -> None:
    """Write into a hidden temporary file beside `path`, then rename over it: a reader (the
    portal) sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f"{TEMP_PREFIX}{path.stem}-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        with temp.open("x", encoding="utf-8") as handle:
            handle.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def lift_markdown(measurement: LiftMeasurement) -> str:
    """The run summary the marketing team reads in the flow run's Artifacts tab."""
    def group(name: str, outcome: GroupOutcome) -> str:
        rate = "-" if outcome.rate is None else f"{outcome.rate:.2%}"
        return f"| {name} | {outcome.persons:,} | {outcome.converted:,} | {rate} |"

    lift = ("not known (a group has no persons, or the holdout no conversions)"
            if measurement.relative_lift is None else f"{measurement.relative_lift:+.1%}")
    interval = ("not given (a group has no conversions)" if measurement.relative_lift_ci95 is None
                else "{:+.1%} to {:+.1%}".format(*measurement.relative_lift_ci95))
    return "\n".join([
        (f"## Lift of {measurement.segment} as of {measurement.as_of.isoformat()} "
         f"(export v{measurement.export_version}) on {measurement.destination}"),
        "",
        f"Intent events from {measurement.start.isoformat()} to {measurement.end.isoformat()}.",
        "",
        "| group | persons | converted | rate |",
        "|---|---|---|---|",
        group("treated", measurement.treated),
        group("holdout", measurement.holdout),
        "",
        f"Relative lift: **{lift}**; 95 % interval: {interval}.",
        "",
        f"Written to `{measurement.path}`.",
    ])


def check_lift_inputs(segment: str, destination: str, campaign: str | None,
                      intent_types: tuple[str, ...]) -> None:
    """Raise LiftInputError for a name or intent type that cannot be measured, before any I/O."""
    if not is_valid_segment_name(segment):
        raise LiftInputError(f"{segment!r} is not a segment name")
    if destination not in destination_names():
        raise LiftInputError(f"unknown destination {destination!r}; one of "
                             f"{', '.join(destination_names())}")
    if campaign is not None and not is_valid_campaign_name(campaign):
        raise LiftInputError(f"campaign name {campaign!r} must be 1-128 letters, digits, '.', "
                             "'_' or '-', starting with a letter or digit")
    unknown = sorted(set(intent_types) - set(INTENT_EVENT_TYPES))
    if unknown or not intent_types:
        raise LiftInputError(f"intent types must be some of {', '.join(INTENT_EVENT_TYPES)}; "
                             f"got {', '.join(intent_types) or 'none'}")


def is_valid_campaign_name(name: str) -> bool:
    return re.fullmatch(CAMPAIGN_NAME_PATTERN, name) is not None


def _check_holdout_not_replaced(exports_dir: Path, segment: str, as_of: date,
                                version: int) -> None:
    # Each export of a segment replaces the holdout recorded for its as-of date, so only the
    # newest version that wrote the segment still has its holdout.
    newest = versions_with_segment(exports_dir, segment, as_of)[-1]
    if newest != version:
        raise LiftInputError(
            f"the holdout of {segment!r} v{version} ({as_of.isoformat()}) was replaced by the "
            f"one of v{newest}; only v{newest} can be measured")


def _holdout_persons(con, segment: str, as_of: date, version: int) -> pl.DataFrame:
    holdout = con.execute(_query("lift_holdout_persons"),
                          {"segment": segment, "as_of": as_of}).pl()
    recorded = set(holdout["export_version"].to_list())
    if recorded - {version}:
        raise LiftInputError(
            f"the holdout recorded for {segment!r} on {as_of.isoformat()} is that of export "
            f"v{', v'.join(str(v) for v in sorted(recorded))}, not of v{version}")
    return holdout


def _count_conversions(con, treated: pl.DataFrame, holdout: pl.DataFrame,
                       converted: pa.Table) -> dict[str, GroupOutcome]:
    # A treated unit is an id in the file (one device to the platform); a holdout unit a person.
    members = pl.concat([
        treated.select(pl.lit("treated").alias("group_name"),
                       pl.col("file_id").alias("unit_id"), "person_id"),
        holdout.select(pl.lit("holdout").alias("group_name"),
                       pl.col("person_id").alias("unit_id"), "person_id"),
    ])
    con.register("measured_persons", members.to_arrow())
    con.register("converted_persons", converted)
    try:
        rows = con.execute(_query("lift_conversions")).fetchall()
    finally:
        con.unregister("measured_persons")
        con.unregister("converted_persons")
    counted = {name: GroupOutcome(int(persons), int(converted))
               for name, persons, converted in rows}
    return {name: counted.get(name, GroupOutcome(0, 0)) for name in ("treated", "holdout")}


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _known_runs(exports_dir: Path, segment: str) -> str:
    """'; it was exported as of 2026-11-01 v1, v2' for an error message, or ''."""
    versions_by_day: dict[date, list[int]] = {}
    for run in list_runs(exports_dir):
        if run.has_segment(segment):
            versions_by_day.setdefault(run.as_of, []).append(run.version)
    runs = [f"{day.isoformat()} v{', v'.join(map(str, versions))}"
            for day, versions in versions_by_day.items()]
    return f"; it was exported as of {'; '.join(runs)}" if runs else ""


def _query(name: str) -> str:
    return read_sql(f"activation/queries/{name}.sql")
