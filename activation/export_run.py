"""One export run: every segment's files and manifest, written once and atomically.

Layout (activation/export_store.py): `<exports_dir>/<as_of>/v<N>/run.json` and one folder per
written segment holding `manifest.json` and one file per destination. Everything is written into
a hidden temporary folder inside `exports_dir` and renamed into place only when complete, so a
failed or killed run leaves no half-written version; the holdouts it recorded are committed
in the same step.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pyarrow as pa

from activation.definitions import SegmentDefinition, SegmentsFile, load_segments
from activation.deltas import DestinationDelta, destination_delta, earlier_runs, previous_upload
from activation.destination_settings import DestinationSettings
from activation.drivers import PopulationContributions, population_contributions, segment_drivers
from activation.export_store import (
    RunFolder,
    list_runs,
    new_temp_run_folder,
    next_version,
    publish_run_folder,
    remove_abandoned_temp_folders,
    segment_folder_in,
    write_manifest,
    write_run_info,
)
from activation.exporters import EXPORTERS
from activation.exporters.base import ExportContext, WrittenFile, setting_value
from activation.selection import gains_by_decile, holdout_mask, interest_profile, select_segment
from activation.settings import ExportSettings
from activation.shard_export import GatheredShards, gather_eligible_features
from core.engine import ShardRunner
from warehouse.db import open_warehouse
from warehouse.shards import layout_of
from warehouse.sql_files import read_sql

MANIFEST_VERSION = 1
NO_PENDING = pl.Series("platform_id", [], dtype=pl.String)


class NoScoresError(LookupError):
    """Nothing has been scored for the requested as-of date."""


@dataclass(frozen=True)
class SegmentsToExport:
    """The parsed segments an export run writes, and whose scores."""

    segments: SegmentsFile
    # None: export the scores of the model most recently scored for the as-of date.
    model_name: str | None = None


@dataclass(frozen=True)
class SegmentOutcome:
    name: str
    selected: int
    holdout: int
    exported: int
    min_audience_size: int
    skipped_reason: str | None = None
    files: list[WrittenFile] = field(default_factory=list)
    destinations_skipped: list[dict[str, str]] = field(default_factory=list)
    delta_files: list[WrittenFile] = field(default_factory=list)
    # (destination, pending identifiers its remove file now holds)
    consumed_pending: list[tuple[str, pl.Series]] = field(default_factory=list)

    @property
    def written(self) -> bool:
        return self.skipped_reason is None


@dataclass(frozen=True)
class RunInputs:
    """What every segment of one run reads: everyone scored and eligible, the earlier runs to
    compare with, the identifiers awaiting removal, and everyone's SHAP contributions."""

    population: pl.DataFrame
    earlier: list[RunFolder]
    pending: dict[tuple[str, str], pl.Series]
    contributions: PopulationContributions | None
    drivers_problem: str | None
    # destination -> everyone's ids as its files would hold them, made once per run
    population_ids: dict[str, pl.Series] = field(default_factory=dict)

    def pending_for(self, segment: str, destination: str) -> pl.Series:
        return self.pending.get((segment, destination), NO_PENDING)

    def written_population(self, exporter) -> pl.Series:
        if exporter.name not in self.population_ids:
            self.population_ids[exporter.name] = _written(exporter, self.population)
        return self.population_ids[exporter.name]


@dataclass(frozen=True)
class ExportRunReport:
    as_of: date
    version: int
    folder: Path
    created_at: str
    model: dict[str, object]
    segments: list[SegmentOutcome]

    @property
    def segments_written(self) -> list[SegmentOutcome]:
        return [s for s in self.segments if s.written]

    @property
    def segments_skipped(self) -> list[SegmentOutcome]:
        return [s for s in self.segments if not s.written]

    def rows_per_destination(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for segment in self.segments_written:
            for written in segment.files:
                totals[written.destination] = totals.get(written.destination, 0) + written.rows
        return totals


def export(settings: ExportSettings,
           progress: Callable[[str, int, int], None] | None = None,
           shard_runner: ShardRunner | None = None) -> ExportRunReport:
    """The export job: the segments file's segments from the scores of the (resolved) date.
    `progress` hears each segment as it starts: (segment, segments done, segments in all),
    then ("done", n, n)."""
    if settings.as_of is None:
        raise ValueError("resolve the as-of date first (warehouse.as_of.resolve_as_of)")
    chosen = SegmentsToExport(load_segments(settings.segments_file), settings.model_name)
    on_segment = None
    if progress is not None:
        total = len(chosen.segments.segments)
        started: list[str] = []

        def on_segment(name: str) -> None:
            progress(name, len(started), total)
            started.append(name)

    home = settings.norrut_home()
    report = export_segments(home.warehouse_path, settings.exports_path(), settings.as_of,
                             chosen, on_segment,
                             tracking_uri=settings.tracking_uri or home.mlflow_tracking_uri,
                             shard_runner=shard_runner)
    if progress is not None:
        progress("done", total, total)
    return report


def export_segments(
    warehouse_path: str | os.PathLike[str],
    exports_dir: str | os.PathLike[str],
    as_of: date,
    settings: SegmentsToExport,
    on_segment: Callable[[str], None] | None = None,
    tracking_uri: str | None = None,
    shard_runner: ShardRunner | None = None,
) -> ExportRunReport:
    """Write every segment of `settings` for `as_of` as a new export version, each with its
    delta files against the previous run and, given the MLflow store of the model that made
    the scores (`tracking_uri`), its drivers. A sharded warehouse's shards hand over their
    eligible persons by `shard_runner` when given, else on the cluster $NORRUT_DASK_SCHEDULER
    names, else here."""
    exports_dir = Path(exports_dir)
    exports_dir.mkdir(parents=True, exist_ok=True)
    remove_abandoned_temp_folders(exports_dir)
    created_at = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    temp = new_temp_run_folder(exports_dir, as_of)
    try:
        with open_warehouse(warehouse_path) as con:
            model = _scoring_run(con, as_of, settings.model_name)
            layout = layout_of(con, warehouse_path)
            shards = None if layout is None else gather_eligible_features(layout, as_of,
                                                                            shard_runner)
            if shards is None:
                population = con.execute(_query("eligible_scored_population"), {
                    "as_of": as_of, "model_name": model["name"],
                    "model_version": model["version"]}).pl()
            else:
                population = shards.population(con, as_of, model)
            version = next_version(exports_dir, as_of)
            contributions, drivers_problem = _contributions(con, population, as_of, model,
                                                            tracking_uri, shards)
            inputs = RunInputs(population, earlier_runs(list_runs(exports_dir), as_of, version),
                               _pending_removals(con), contributions, drivers_problem)
            outcomes, holdouts = [], []
            for segment in settings.segments.segments:
                if on_segment is not None:
                    on_segment(segment.name)
                outcome, held_out = _export_segment(
                    inputs, segment, settings.segments, as_of, version, created_at, model, temp)
                outcomes.append(outcome)
                if outcome.written:
                    holdouts.append((segment.name, held_out))
            report_model = {key: model[key] for key in ("name", "version", "run_id", "test_metrics")}
            write_run_info(temp, {
                "manifest_version": MANIFEST_VERSION, "as_of": as_of.isoformat(),
                "version": version, "created_at": created_at, "model": report_model,
                "segments_written": [o.name for o in outcomes if o.written],
                "segments_skipped": [{"segment": o.name, "reason": o.skipped_reason}
                                     for o in outcomes if not o.written],
            })
            consumed = [(o.name, destination, ids) for o in outcomes
                        for destination, ids in o.consumed_pending]
            folder = _publish(con, temp, exports_dir, as_of, version, holdouts, model, consumed)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return ExportRunReport(as_of, int(folder.name[1:]), folder, created_at, report_model, outcomes)


def _scoring_run(con, as_of: date, model_name: str | None) -> dict[str, object]:
    row = con.execute(_query("latest_scoring_run"),
                      {"as_of": as_of, "model_name": model_name}).fetchone()
    if row is None:
        which = f" with model {model_name!r}" if model_name else ""
        raise NoScoresError(f"no scores for {as_of.isoformat()}{which}; "
                            f"run `norrut score --as-of {as_of.isoformat()}` first")
    _, name, version, run_id, metrics, persons = row
    return {"name": name, "version": version, "run_id": run_id,
            "test_metrics": json.loads(metrics), "persons_scored": persons}


def _contributions(con, population: pl.DataFrame, as_of: date, model: dict[str, object],
                   tracking_uri: str | None, shards: GatheredShards | None,
                   ) -> tuple[PopulationContributions | None, str | None]:
    """Everyone's SHAP contributions under the model that made the scores (their features read
    from the main warehouse, or as gathered from its `shards`), or why there are none. Drivers
    explain; an export never fails for want of them."""
    if tracking_uri is None:
        return None, "no MLflow store was given to load the model from"
    from models.registry import load_version
    from models.threads import configure_threads

    configure_threads()  # before the model load imports LightGBM (OpenMP reads it once)
    try:
        loaded = load_version(tracking_uri, str(model["name"]), str(model["version"]))
        features = (con.execute(_query("features_of_eligible"), {"as_of": as_of}).pl()
                    if shards is None else shards.features_of_eligible())
        features = population.select("person_id").join(features, on="person_id", how="inner",
                                                       maintain_order="left")
        return population_contributions(loaded.model, features), None
    except Exception as error:  # noqa: BLE001 - said in the manifest instead
        return None, f"the model's contributions could not be computed: {error}"


def _pending_removals(con) -> dict[tuple[str, str], pl.Series]:
    rows = con.execute(_query("pending_removals")).pl()
    return {(segment, destination): group["platform_id"]
            for (segment, destination), group in rows.group_by(
                ["segment_name", "destination"], maintain_order=True)}


def _drivers(inputs: RunInputs, selected: pl.DataFrame) -> dict[str, object]:
    if inputs.contributions is None:
        return {"unavailable": inputs.drivers_problem}
    return {"compared_with": "everyone scored and eligible for the date",
            "persons_compared": len(inputs.contributions.person_ids),
            "measure": "mean SHAP contribution (LightGBM pred_contrib, log-odds) of the "
                       "segment's members minus everyone's",
            "features": segment_drivers(inputs.contributions, selected["person_id"])}


def _export_segment(inputs: RunInputs, segment: SegmentDefinition, config: SegmentsFile,
                    as_of: date, version: int, created_at: str, model: dict[str, object],
                    temp: Path) -> tuple[SegmentOutcome, pl.DataFrame]:
    population = inputs.population
    selected = select_segment(population, segment)
    is_holdout = holdout_mask(selected, segment.name, as_of, config.holdout_fraction_of(segment))
    held_out = selected.filter(is_holdout)
    audience = selected.filter(~is_holdout)
    minimum = config.min_audience_size_of(segment)
    counts = {"selected": selected.height, "holdout": held_out.height,
              "exported": audience.height, "min_audience_size": minimum}
    if audience.height < minimum:
        reason = (f"{audience.height} persons after a holdout of {held_out.height}, "
                  f"below the minimum audience size of {minimum}")
        return SegmentOutcome(segment.name, **counts, skipped_reason=reason), held_out

    folder = segment_folder_in(temp, segment.name)
    folder.mkdir()
    context = ExportContext(segment.name, as_of, config.destination_settings)
    files: list[WrittenFile] = []
    deltas: list[DestinationDelta] = []
    skipped: list[dict[str, str]] = []
    # Ids of the right type the platform cannot use (not a UUID, the all-zero id).
    ids_left_out: dict[str, int] = {}
    for destination in config.destinations_of(segment):
        exporter = EXPORTERS[destination]()
        reason = exporter.unavailable_reason(context)
        prepared = exporter.prepare(audience) if reason is None else None
        destination_minimum = max(minimum, exporter.own_minimum)
        if prepared is not None and prepared.rows.height < destination_minimum:
            rejected = (f" ({prepared.ids_rejected} unusable ids left out)"
                        if prepared.ids_rejected else "")
            reason = (f"{prepared.rows.height} persons with {'/'.join(exporter.id_types)} ids"
                      f"{rejected}, below this destination's minimum of {destination_minimum}")
        if reason is not None:
            skipped.append({"destination": destination, "reason": reason})
            continue
        files.extend(exporter.write(prepared.rows, folder, context))
        if prepared.ids_rejected:
            ids_left_out[destination] = prepared.ids_rejected
        deltas.append(destination_delta(
            exporter, context, exporter.written_ids(prepared.rows), prepared.rows,
            previous_upload(inputs.earlier, segment.name, exporter),
            inputs.pending_for(segment.name, destination),
            {"moved_into_holdout": _written(exporter, held_out),
             "left_the_selection": inputs.written_population(exporter)},
            destination_minimum, folder))
    delta_files = [written for delta in deltas for written in delta.files]

    write_manifest(folder, {
        "manifest_version": MANIFEST_VERSION,
        "segment": {
            "name": segment.name, "description": segment.description,
            "definition": {
                **segment.model_dump(mode="json", exclude_none=True,
                                     include={"where", "select"}),
                "destinations": config.destinations_of(segment),
                "holdout_fraction": config.holdout_fraction_of(segment),
                "min_audience_size": minimum,
            },
        },
        "as_of": as_of.isoformat(), "export_version": version, "created_at": created_at,
        "model": {key: model[key] for key in ("name", "version", "run_id", "test_metrics")},
        "audience": counts,
        "files": [written.as_manifest() for written in files + delta_files],
        "destinations_skipped": skipped,
        "ids_left_out": ids_left_out,
        "settings": recorded_settings(config.destination_settings),
        "gains_by_decile": gains_by_decile(selected),
        "interest_profile": interest_profile(selected),
        "drivers": _drivers(inputs, selected),
        "delta": _delta_summary(inputs, segment.name, deltas),
    })
    consumed = [(delta.entry["destination"], delta.consumed_pending) for delta in deltas
                if delta.consumed_pending.len()]
    return SegmentOutcome(segment.name, **counts, files=files, destinations_skipped=skipped,
                          delta_files=delta_files, consumed_pending=consumed), held_out


def _written(exporter, frame: pl.DataFrame) -> pl.Series:
    """The ids of `frame`'s persons as this destination's files would hold them."""
    return exporter.written_ids(exporter.prepare(frame).rows)


def _delta_summary(inputs: RunInputs, segment: str,
                   deltas: list[DestinationDelta]) -> dict[str, object]:
    """The manifest's `delta`: the run compared with, and each destination's entry."""
    previous = next((run for run in inputs.earlier if run.has_segment(segment)), None)
    if previous is None:
        return {"against": None, "first_export": True,
                "note": "the first export of this segment: there is no earlier upload to "
                        "compare with, so no add or remove file; upload the full files",
                "destinations": []}
    return {"against": {"as_of": previous.as_of.isoformat(), "export_version": previous.version},
            "first_export": False, "destinations": [delta.entry for delta in deltas]}


def recorded_settings(settings: DestinationSettings) -> dict[str, object]:
    """The manifest's `settings`: every registered destination's required settings, keyed
    "<block>_<field>", null when not set, whether or not the segment was written to it."""
    return {setting.replace(".", "_"): setting_value(settings, setting)
            for exporter in EXPORTERS.values() for setting in exporter.required_settings}


def _publish(con, temp: Path, exports_dir: Path, as_of: date, version: int,
             holdouts: list[tuple[str, pl.DataFrame]], model: dict[str, object],
             consumed: list[tuple[str, str, pl.Series]]) -> Path:
    """Record the holdouts, forget the identifiers the new remove files hold, and rename the
    finished folder into place, as one step."""
    recorded_at = datetime.now(UTC)
    con.execute("begin transaction")
    try:
        for segment_name, held_out in holdouts:
            _replace_holdouts(con, segment_name, held_out, as_of, version, model, recorded_at)
        _forget_pending(con, consumed)
        folder = publish_run_folder(temp, exports_dir, as_of, version)
    except BaseException:
        con.execute("rollback")
        raise
    try:
        con.execute("commit")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder


def _forget_pending(con, consumed: list[tuple[str, str, pl.Series]]) -> None:
    if not consumed:
        return
    con.register("consumed_removals", pl.concat([
        ids.cast(pl.String).to_frame("platform_id").select(
            pl.lit(segment).alias("segment_name"), pl.lit(destination).alias("destination"),
            "platform_id")
        for segment, destination, ids in consumed]).to_arrow())
    try:
        con.execute(_query("delete_pending_removals"))
    finally:
        con.unregister("consumed_removals")


def _replace_holdouts(con, segment_name: str, held_out: pl.DataFrame, as_of: date, version: int,
                      model: dict[str, object], recorded_at: datetime) -> None:
    """This run's holdout of a segment replaces any earlier one for the same as-of date."""
    con.execute(_query("delete_holdouts"), {"segment": segment_name, "as_of": as_of})
    if held_out.is_empty():
        return
    con.register("held_out", pa.table({
        "person_id": held_out["person_id"].to_arrow(),
        "id_type": held_out["id_type"].to_arrow(),
        "score": held_out["score"].to_arrow(),
    }))
    try:
        con.execute(_query("insert_holdouts"), {
            "segment": segment_name, "as_of": as_of, "model_name": model["name"],
            "model_version": model["version"], "version": version, "recorded_at": recorded_at,
        })
    finally:
        con.unregister("held_out")


def _query(name: str) -> str:
    return read_sql(f"activation/queries/{name}.sql")
