"""The creative report: which films, images, themes and campaigns are followed by intent more
often than comparable persons show without them (`norrut creatives`).

For a report date D, with exposure window E days and intent window H days (the label's horizon):

- S = D - H - E is the window's start. Every profiled person (latest consent true, not opted
  out, some event before S) is scored **at S** with the champion model from MLflow on the
  point-in-time features of S, so the score sees nothing of the exposure or after it.
- Shown: an impression or engagement event naming the item in [S, S + E); engaged: an event of
  the engagement types (a view, a click, ...). A theme is shown by any item carrying it, a
  campaign by any event carrying its id.
- Intent: the model's own label (features/sql/person_label.sql) of the snapshot S + E, that is
  an intent event of the chosen types in [S + E, D), after the whole exposure window, so an
  intent that came before the engagement is never read as its consequence.
- Per item, the persons shown it are cut into strata at quantiles of their score; within each
  stratum the engaged persons' intent rate is compared with that of those shown it who did not
  engage, and the differences are averaged with the engaged persons' weights (the SQL in
  insight/sql/queries/creative_estimates.sql says how, and how the interval is made).

Why the champion's score and not a model of who engages: the champion is the project's one
estimate of how likely a person is to show intent anyway, from everything known before S, which
is exactly what "keen people click everything" confounds; it needs no second model per item
(most items are seen by too few persons to fit one). It is honest only so far as the features
see keenness: what drives both engagement and intent but leaves no trace in the events before S
is not adjusted away, so the figure is a correlation with adjustment, not a causal effect.
Persons first seen in the window have no score and are not counted. Nor can the score see
what changes during the window: a person growing keener engages more with everything and also
shows more intent, and a person moved by one film engages with others too, so on the simulated
worlds of tests/data/test_creatives_world.py items without any effect carry a positive
difference of a few points. Items are therefore ranked by the lower end of their interval (a
large difference on few persons does not outrank a well-measured one), and the page says the
figure is a correlation with adjustment.

The features of S and S + E and the labels are built in one transaction that is rolled back,
so the feature tables stay as they were (on a sharded warehouse, in each shard: the per-person
rows are made there and gathered, insight/exposures.py); only aggregates (no person id) are stored, in
marts.creative_report and marts.creative_report_runs, and written as the portal's file
<exports_dir>/creatives/<as_of>.json (insight/report_file.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pyarrow as pa

from activation.scoring import feature_matrix
from core.contract import ENGAGEMENT_EVENT_TYPES, INTENT_EVENT_TYPES
from core.engine import ShardRunner, given_or_configured, run_here
from insight.exposures import (
    ExposureQuestion,
    ExposureRows,
    ShardExposureTask,
    combined,
    exposures_in_transaction,
    exposures_on_shard,
)
from insight.report_file import REPORT_COLUMNS, StoredReport, write_report_file
from insight.settings import CreativesSettings
from models.prediction import scorer_for
from models.registry import load_champion
from models.threads import configure_threads
from warehouse.db import one_transaction, open_warehouse
from warehouse.shard_reads import copy_catalog
from warehouse.shards import layout_of, read_layout
from warehouse.sql_files import read_sql
from warehouse.staging import shard_staging

DIMENSIONS = ("content", "theme", "campaign")
StepProgress = Callable[[str, int, int], None]


class CreativeReportError(ValueError):
    """The report cannot be made for these settings (a window before the first event, an
    unknown event type)."""


@dataclass(frozen=True)
class CreativeWindows:
    """The report's dates: exposure [exposure_start, outcome_start), intent [outcome_start,
    as_of)."""

    as_of: date
    exposure_start: date
    outcome_start: date

    @classmethod
    def of(cls, as_of: date, exposure_days: int, horizon_days: int) -> CreativeWindows:
        outcome_start = as_of - timedelta(days=horizon_days)
        return cls(as_of, outcome_start - timedelta(days=exposure_days), outcome_start)


@dataclass(frozen=True)
class CreativeReport:
    """What one report run found: its windows, model, rows (REPORT_COLUMNS) and file."""

    windows: CreativeWindows
    model_name: str
    model_version: str
    model_run_id: str
    persons_scored: int
    min_persons: int
    rows: pl.DataFrame
    path: Path

    def ranked(self, dimension: str) -> pl.DataFrame:
        return (self.rows.filter((pl.col("dimension") == dimension) & pl.col("is_ranked"))
                .sort("rank"))

    def too_small(self, dimension: str) -> pl.DataFrame:
        return self.rows.filter((pl.col("dimension") == dimension) & ~pl.col("is_ranked"))


def creatives(settings: CreativesSettings,
              progress: StepProgress | None = None,
              shard_runner: ShardRunner | None = None) -> CreativeReport:
    """The creative report job: the home's warehouse and champion, as of the settings'
    (resolved) date. A sharded warehouse's shards run by `shard_runner` when given (a flow
    run's), else on the cluster $NORRUT_DASK_SCHEDULER names, else here."""
    if settings.as_of is None:
        raise ValueError("resolve the as-of date first (warehouse.as_of.resolve_as_of)")
    home = settings.norrut_home()
    tracking_uri = settings.tracking_uri or home.mlflow_tracking_uri
    if read_layout(home.warehouse_path) is None:
        return measure_creatives(home.warehouse_path, tracking_uri, home.exports_dir, settings,
                                 progress)
    with given_or_configured(shard_runner) as runner:
        return measure_creatives(home.warehouse_path, tracking_uri, home.exports_dir, settings,
                                 progress, runner or run_here)


def check_event_types(settings: CreativesSettings) -> None:
    """CreativeReportError for intent or engagement types outside the contract, or none."""
    for name, given, allowed in (("intent", settings.intent_types, INTENT_EVENT_TYPES),
                                 ("engagement", settings.engagement_types,
                                  ENGAGEMENT_EVENT_TYPES)):
        unknown = sorted(set(given) - set(allowed))
        if unknown or not given:
            raise CreativeReportError(f"{name} types must be some of {', '.join(allowed)}; "
                                      f"got {', '.join(unknown) or 'none'}")


def measure_creatives(warehouse_path: str | os.PathLike[str], tracking_uri: str,
                      exports_dir: str | os.PathLike[str], settings: CreativesSettings,
                      progress: StepProgress | None = None,
                      shard_runner: ShardRunner = run_here) -> CreativeReport:
    """Make the report for `settings.as_of`, store it (that date's rows replaced) and write
    its file for the portal under `exports_dir` (insight/report_file.py). A sharded warehouse
    makes the per-person rows in its shards, each shard's task run by `shard_runner`
    (insight/exposures.py)."""
    check_event_types(settings)
    step = progress or (lambda what, done, total: None)
    windows = CreativeWindows.of(settings.as_of, settings.exposure_days, settings.horizon_days)
    configure_threads()  # before the model load imports LightGBM (OpenMP reads it once)
    with open_warehouse(Path(warehouse_path)) as con:
        step("loading the champion model", 0, 5)
        champion = load_champion(tracking_uri, settings.model_name)
        question = ExposureQuestion(
            exposure_start=windows.exposure_start, outcome_start=windows.outcome_start,
            horizon_days=settings.horizon_days, intent_types=tuple(settings.intent_types),
            engagement_types=tuple(settings.engagement_types),
            feature_names=tuple(champion.feature_names))
        step(f"finding who was shown what from {windows.exposure_start.isoformat()}", 1, 5)
        rows = _exposure_rows(con, warehouse_path, question, shard_runner)
        if rows is None:
            raise CreativeReportError(
                f"the exposure window starts {windows.exposure_start.isoformat()}: no events "
                "before it in the warehouse; choose a later --as-of or shorter windows")
        step(f"scoring persons at {windows.exposure_start.isoformat()}", 2, 5)
        scores = _scores_of(rows.features, windows.exposure_start, champion)
        step("comparing engaged and not engaged persons", 3, 5)
        con.register("creative_scores", scores)
        con.register("creative_shown", rows.shown)
        try:
            con.execute(_query("creative_exposures"))
            estimates = con.execute(_query("creative_estimates"), {
                "strata": settings.strata, "min_persons": settings.min_persons}).to_arrow_table()
        finally:
            con.unregister("creative_scores")
            con.unregister("creative_shown")
            con.execute("drop table if exists temp.main.creative_exposures")
        step("storing the report", 4, 5)
        stored = _store(con, estimates, windows, settings, champion, scores.num_rows)
    path = write_report_file(Path(exports_dir), stored)
    step("done", 5, 5)
    return CreativeReport(windows, champion.name, champion.version, champion.run_id,
                          scores.num_rows, settings.min_persons, stored.rows, path)


def _exposure_rows(con, warehouse_path: str | os.PathLike[str], question: ExposureQuestion,
                   shard_runner: ShardRunner) -> ExposureRows | None:
    """The rows of the warehouse file (in a transaction rolled back), or of every shard, each
    in a task of `shard_runner`."""
    layout = layout_of(con, warehouse_path)
    if layout is None:
        con.execute("begin transaction")
        try:
            return combined([exposures_in_transaction(con, question)])
        finally:
            # Features and labels of S and S + E were built only to be read here.
            con.execute("rollback")
    with shard_staging(layout, "creatives") as staging:
        catalog_path = copy_catalog(con, staging)
        tasks = [ShardExposureTask(str(path), catalog_path, question)
                 for path in layout.shard_paths()]
        return combined(shard_runner(exposures_on_shard, tasks))


def _scores_of(features: pa.Table, day: date, champion) -> pa.Table:
    """Every eligible person's champion score on the features of `day` (person_id, score), in
    one matrix sorted by person_id, wherever the features were made."""
    if features.num_rows == 0:
        raise CreativeReportError(f"nobody could be profiled on {day.isoformat()}")
    frame = pl.from_arrow(features)
    scores = scorer_for(champion.model).scores(feature_matrix(frame, champion.feature_names))
    return pa.table({"person_id": features["person_id"],
                     "score": pa.array(scores, pa.float64())})


def _store(con, estimates: pa.Table, windows: CreativeWindows, settings: CreativesSettings,
           champion, persons_scored: int) -> StoredReport:
    con.register("creative_estimated", estimates)
    try:
        with one_transaction(con):
            con.execute("delete from marts.creative_report where as_of_date = ?",
                        [windows.as_of])
            con.execute(_query("insert_creative_report"), {"as_of": windows.as_of})
            con.execute(_query("upsert_creative_report_run"), {
                "as_of": windows.as_of, "exposure_start": windows.exposure_start,
                "outcome_start": windows.outcome_start, "horizon_days": settings.horizon_days,
                "intent_types": list(settings.intent_types),
                "engagement_types": list(settings.engagement_types), "strata": settings.strata,
                "min_persons": settings.min_persons, "model_name": champion.name,
                "model_version": champion.version, "model_run_id": champion.run_id,
                "persons_scored": persons_scored, "created_at": datetime.now(UTC)})
    finally:
        con.unregister("creative_estimated")
    return _read_stored(con, windows.as_of)


def read_report_rows(con, as_of: date) -> pl.DataFrame:
    """The stored report of `as_of` (REPORT_COLUMNS), ranked items first in rank order."""
    return con.execute(
        f"select {', '.join(REPORT_COLUMNS)} from marts.creative_report where as_of_date = ? "
        "order by dimension, is_ranked desc, rank, n_engaged desc, item_id", [as_of]).pl()


def _query(name: str) -> str:
    return read_sql(f"insight/queries/{name}.sql")


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1%}"


def creatives_markdown(report: CreativeReport, top: int = 10) -> str:
    """The run summary the marketing team reads in the flow run's Artifacts tab."""
    windows = report.windows
    lines = [
        f"## What works, as of {windows.as_of.isoformat()}",
        "",
        (f"Persons shown an item from {windows.exposure_start.isoformat()} to "
         f"{(windows.outcome_start - timedelta(days=1)).isoformat()}, and their intent from "
         f"{windows.outcome_start.isoformat()} to {(windows.as_of - timedelta(days=1)).isoformat()}"
         f"; {report.persons_scored:,} persons scored before it with model {report.model_name} "
         f"version {report.model_version}."),
        "",
        ("This is a correlation with adjustment, not a causal effect: engaged persons are "
         "compared with persons who were shown the same item, had similar scores before it, "
         "and did not engage."),
    ]
    for dimension in DIMENSIONS:
        ranked, small = report.ranked(dimension), report.too_small(dimension)
        lines += ["", f"### By {dimension}", ""]
        if ranked.is_empty():
            lines.append("No item had enough persons to be ranked.")
        else:
            lines += [("| rank | item | engaged | comparable not engaged | difference | "
                       "95 % interval |"), "|---|---|---|---|---|---|"]
            lines += [
                (f"| {row['rank']} | {row['item_id']} | {row['n_engaged_matched']:,} | "
                 f"{row['n_not_engaged_matched']:,} | {_percent(row['adjusted_difference'])} | "
                 f"{_percent(row['ci_low'])} to {_percent(row['ci_high'])} |")
                for row in ranked.head(top).iter_rows(named=True)]
        if not small.is_empty():
            lines += ["", (f"{small.height:,} item(s) had fewer than {report.min_persons:,} "
                           "matched persons in a group and are not ranked.")]
    return "\n".join(lines)


def stored_report(warehouse_path: str | os.PathLike[str],
                  as_of: date | None = None) -> StoredReport | None:
    """The report of `as_of` (else the newest) read from the warehouse with a read-only
    connection; None when no report was made."""
    with open_warehouse(Path(warehouse_path), read_only=True) as con:
        return _read_stored(con, as_of)


def _read_stored(con, as_of: date | None) -> StoredReport | None:
    runs = con.execute(
        "select * from marts.creative_report_runs where ? is null or as_of_date = ? "
        "order by as_of_date desc limit 1", [as_of, as_of]).pl()
    if runs.is_empty():
        return None
    run = runs.row(0, named=True)
    return StoredReport(run, read_report_rows(con, run["as_of_date"]))
