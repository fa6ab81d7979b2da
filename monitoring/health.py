"""The monitor job: every stored scoring run of a model measured against what happened since.

For each scoring run (marts.scores_runs) of the model, with the champion version that scored it:

- drift, known at once: the population stability index of every model feature and of the
  score, the scored persons against the champion's latest training snapshot (its date from the
  MLflow run's params; the snapshot's features rebuilt when the warehouse no longer holds them,
  its scores made by the version itself), and the share of scored persons without an event in
  the 30 days before the as-of date;
- the backtest, once the run has matured (the events reach past as-of + the label horizon):
  features/sql/person_label.sql for the run's as-of date, horizon and intent types (the label
  training uses), then per decile the realised intent rate against the mean score, and AUC,
  PR-AUC, lift at 10 %, Brier and ECE (models/metrics.py).

On a sharded warehouse each run's persons are measured in their shards and their rows gathered
here (monitoring/persons.py), so every figure is computed from the same rows as on one machine.

Every monitor run remakes the rows of each run it measures (those within `within_days` of the
newest) in one transaction, so running twice gives the same rows and a person erased since
has left them. The newest run's drift and the newest matured run's backtest are held to the
settings' thresholds; a breach is an alarm.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
import pyarrow as pa

from activation.scoring import feature_matrix
from core.engine import ShardRunner, given_or_configured, run_here
from features.catalog import CATALOG
from models.metrics import evaluate
from models.prediction import scorer_for
from models.registry import load_version
from models.threads import configure_threads
from monitoring.persons import PersonRows, RunQuestion, combined, measure_here, measure_on_shards
from monitoring.psi import population_stability_index
from monitoring.report import DecileOutcome, HealthReport, RunHealth
from monitoring.settings import MonitorSettings
from warehouse.as_of import newest_event_date
from warehouse.db import one_transaction, open_warehouse
from warehouse.shards import ShardLayout, layout_of, read_layout
from warehouse.sql_files import read_sql
from warehouse.staging import shard_staging

SCORE = "score"  # the drift row of the score itself, beside the features'
INACTIVE_DAYS = 30
# features/catalog.py's table of the features over a person's whole history (n_events_all,
# days_since_first_event ...): they grow with the warehouse's history.
WHOLE_HISTORY_TABLE = "history"
SHOWN_FEATURES = 3  # drifted features an alarm names; the rest are counted
TABLES = ("marts.backtest_deciles", "marts.feature_drift", "marts.model_health_runs")


class ModelHealthAlarm(RuntimeError):
    """A threshold of the monitor's settings was crossed; the message names the model
    version, the metric and its value."""


@dataclass(frozen=True)
class ChampionFacts:
    """What a scoring run's model version says about itself: its MLflow run's params and the
    model, loaded once per version."""

    horizon_days: int
    intent_types: tuple[str, ...]
    reference_as_of: date
    training_base_rate: float | None
    feature_names: list[str]
    model: Any


def monitor(settings: MonitorSettings,
            progress: Callable[[str, int, int], None] | None = None,
            shard_runner: ShardRunner | None = None) -> HealthReport:
    """The monitor job on the settings' home: measure, store, log to MLflow, write the health
    file the portal shows. Raises nothing on a breach: the report's alarms say it (the flow
    fails the run on them, after publishing the report). A sharded warehouse's shards run by
    `shard_runner` when given (a flow run's), else on the cluster $NORRUT_DASK_SCHEDULER names,
    else here."""
    from monitoring.health_file import write_health
    from monitoring.tracking import log_health

    home = settings.norrut_home()
    tracking_uri = settings.tracking_uri or home.mlflow_tracking_uri
    step = progress or (lambda what, done, total: None)
    step("measuring every scoring run", 0, 3)
    if read_layout(home.warehouse_path) is None:
        report = measure_health(home.warehouse_path, tracking_uri, settings)
    else:
        with given_or_configured(shard_runner) as runner:
            report = measure_health(home.warehouse_path, tracking_uri, settings,
                                    runner or run_here)
    step("logging to MLflow", 1, 3)
    report.monitoring_runs = log_health(tracking_uri, report)
    step("writing the health file", 2, 3)
    write_health(home.health_file, report)
    step("done", 3, 3)
    return report


def measure_health(warehouse_path: str | os.PathLike[str], tracking_uri: str,
                   settings: MonitorSettings,
                   shard_runner: ShardRunner = run_here) -> HealthReport:
    """Measure every scoring run of the settings' model and store the rows (one transaction in
    the main warehouse file). A sharded warehouse measures each run's persons in its shards,
    each shard's task run by `shard_runner` (monitoring/persons.py)."""
    configure_threads()
    measured_at = datetime.now(UTC)
    facts: dict[str, ChampionFacts] = {}
    with open_warehouse(warehouse_path) as con:
        last_event_on = newest_event_date(con, warehouse_path)
        layout = layout_of(con, warehouse_path)
        runs = con.execute(_query("scoring_runs"), {"model_name": settings.model_name,
                                                    "within_days": settings.within_days}).pl()
        with one_transaction(con):
            healths = []
            for run in runs.iter_rows(named=True):
                version = run["model_version"]
                if version not in facts:
                    facts[version] = champion_facts(tracking_uri, settings.model_name, version,
                                                    run["model_run_id"])
                healths.append(_measure_run(con, run, facts[version], settings, last_event_on,
                                            _Places(layout, shard_runner)))
            _store(con, healths, measured_at)
    return HealthReport(
        model_name=settings.model_name, measured_at=measured_at, last_event_on=last_event_on,
        psi_threshold=settings.psi_threshold, max_auc_drop=settings.max_auc_drop,
        max_calibration_error=settings.max_calibration_error, runs=healths,
        alarms=_alarms(healths))


def champion_facts(tracking_uri: str, model_name: str, version: str,
                   run_id: str) -> ChampionFacts:
    """The label horizon, intent types, latest training snapshot and training base rate the
    version's MLflow run logged, and the version's model."""
    from mlflow import MlflowClient

    params = MlflowClient(tracking_uri=tracking_uri).get_run(run_id).data.params
    missing = {"horizon_days", "intent_types", "training_snapshots"} - set(params)
    if missing:
        raise LookupError(f"the MLflow run {run_id} of {model_name} version {version} logged no "
                          f"{', '.join(sorted(missing))}; it was not trained by `norrut train`")
    loaded = load_version(tracking_uri, model_name, version)
    base_rate = params.get("positive_rate_training")
    return ChampionFacts(
        horizon_days=int(params["horizon_days"]),
        intent_types=tuple(params["intent_types"].split(",")),
        reference_as_of=max(date.fromisoformat(day)
                            for day in params["training_snapshots"].split(",")),
        training_base_rate=float(base_rate) if base_rate is not None else None,
        feature_names=loaded.feature_names, model=loaded.model)


def matures_on(as_of: date, horizon_days: int) -> date:
    """The first default as-of date (the day after the newest event) at which a run scored at
    `as_of` has its whole label horizon [as_of, as_of + horizon) in the warehouse."""
    return as_of + timedelta(days=horizon_days)


def _query(name: str) -> str:
    return read_sql(f"monitoring/queries/{name}.sql")


@dataclass(frozen=True)
class _Places:
    """Where a run's persons are measured: the warehouse file, or each of its shards."""

    layout: ShardLayout | None
    shard_runner: ShardRunner

    def person_rows(self, con, key: dict, question: RunQuestion) -> PersonRows:
        if self.layout is None:
            return combined([measure_here(con, key, question)])
        with shard_staging(self.layout, "monitor") as staging:
            return measure_on_shards(con, key, question, self.layout, staging,
                                     self.shard_runner)


def _measure_run(con, run: dict, facts: ChampionFacts, settings: MonitorSettings,
                 last_event_on: date | None, places: _Places) -> RunHealth:
    as_of = run["as_of_date"]
    key = {"as_of": as_of, "model_name": run["model_name"],
           "model_version": run["model_version"]}
    due = matures_on(as_of, facts.horizon_days)
    matured = last_event_on is not None and last_event_on + timedelta(days=1) >= due
    rows = places.person_rows(con, key, RunQuestion(
        as_of=as_of, reference_as_of=facts.reference_as_of,
        feature_names=tuple(facts.feature_names), horizon_days=facts.horizon_days,
        intent_types=facts.intent_types, backtest=matured))
    scored = pl.from_arrow(rows.scored)
    scored_matrix = feature_matrix(scored, facts.feature_names)
    reference_matrix = feature_matrix(pl.from_arrow(rows.reference), facts.feature_names)
    feature_psi = {
        name: population_stability_index(reference_matrix[:, column], scored_matrix[:, column],
                                         settings.psi_bins)
        for column, name in enumerate(facts.feature_names)}
    reference_scores = scorer_for(facts.model).scores(reference_matrix)
    test_metrics = json.loads(run["test_metrics"] or "{}")
    con.register("monitor_inactive", rows.inactive)
    try:
        inactive_share = con.execute(_query("inactive_share")).fetchone()[0]
    finally:
        con.unregister("monitor_inactive")
    health = RunHealth(
        as_of=as_of, model_name=run["model_name"], model_version=run["model_version"],
        model_run_id=run["model_run_id"], horizon_days=facts.horizon_days, matures_on=due,
        matured=matured, persons_scored=run["persons_scored"],
        reference_as_of=facts.reference_as_of, inactive_30d_share=inactive_share,
        score_psi=population_stability_index(reference_scores, scored[SCORE].to_numpy(),
                                             settings.psi_bins),
        feature_psi=feature_psi, training_base_rate=facts.training_base_rate,
        test_roc_auc=test_metrics.get("roc_auc"))
    if rows.backtest is not None:
        _backtest(con, health, rows.backtest)
    health.breaches = breaches_of(health, settings)
    return health


def _backtest(con, health: RunHealth, labelled: pa.Table) -> None:
    """The deciles and totals of the run's labelled persons (every place's, by person_id)."""
    con.register("monitor_labelled", labelled)
    try:
        con.execute("create or replace temp table monitor_persons as "
                    "select * from monitor_labelled order by person_id")
    finally:
        con.unregister("monitor_labelled")
    persons = con.execute("select score, label from monitor_persons order by person_id").pl()
    health.deciles = [DecileOutcome(**row) for row in
                      con.execute(_query("backtest_deciles")).pl().iter_rows(named=True)]
    con.execute("drop table temp.main.monitor_persons")
    labels = persons["label"].cast(pl.Int8).to_numpy()
    health.persons = len(labels)
    health.base_rate = float(labels.mean()) if len(labels) else None
    if 0 < labels.sum() < len(labels):  # ranking and calibration need both outcomes
        metrics = evaluate(labels, persons["score"].to_numpy())
        for name in ("roc_auc", "pr_auc", "lift_at_10pct", "brier", "ece"):
            setattr(health, name, metrics[name])


def whole_history_features() -> frozenset[str]:
    """The catalog's features counted over a person's whole history before the as-of date."""
    return frozenset(feature.name for feature in CATALOG.features
                     if feature.table == WHOLE_HISTORY_TABLE)


def breaches_of(health: RunHealth, settings: MonitorSettings) -> list[str]:
    """Each threshold the run crossed, naming the model version, the metric and its value (the
    drifted features in one breach, largest first)."""
    found = []
    exempt = frozenset() if settings.alarm_on_whole_history_features else whole_history_features()
    drifted = [(name, value) for name, value in health.most_drifted(len(health.feature_psi))
               if value > settings.psi_threshold and name not in exempt]
    if drifted:
        shown = ", ".join(f"{name} {value:.3f}" for name, value in drifted[:SHOWN_FEATURES])
        more = (f" and {len(drifted) - SHOWN_FEATURES} more"
                if len(drifted) > SHOWN_FEATURES else "")
        found.append(f"{health.label}: population stability index above "
                     f"{settings.psi_threshold:g} for {len(drifted)} feature(s): {shown}{more}")
    if health.score_psi > settings.psi_threshold:
        found.append(f"{health.label}: population stability index of the score is "
                     f"{health.score_psi:.3f}, above {settings.psi_threshold:g}")
    if health.roc_auc is not None and health.test_roc_auc is not None:
        floor = health.test_roc_auc - settings.max_auc_drop
        if health.roc_auc < floor:
            found.append(f"{health.label}: backtest AUC is {health.roc_auc:.3f}, more than "
                         f"{settings.max_auc_drop:g} below its test AUC "
                         f"{health.test_roc_auc:.3f}")
    if health.ece is not None and health.ece > settings.max_calibration_error:
        found.append(f"{health.label}: backtest calibration error (ECE) is {health.ece:.3f}, "
                     f"above {settings.max_calibration_error:g}")
    return found


def _alarms(healths: list[RunHealth]) -> list[str]:
    """The breaches of the newest scoring run (its drift) and of the newest matured one (its
    backtest): older runs' breaches stay in the rows, but only what is current alarms."""
    newest = [healths[-1]] if healths else []
    matured = [run for run in healths if run.matured]
    if matured and matured[-1] is not newest[0]:
        newest.append(matured[-1])
    return [breach for run in newest for breach in run.breaches]


def _store(con, healths: list[RunHealth], measured_at: datetime) -> None:
    """Replace the rows of the runs measured (and only theirs)."""
    deciles, drift, runs = [], [], []
    for health in healths:
        for table in TABLES:  # names of our own tables, never input
            con.execute(f"delete from {table} where as_of_date = ? and model_name = ? "
                        "and model_version = ?",
                        [health.as_of, health.model_name, health.model_version])
        key = {"as_of_date": health.as_of, "model_name": health.model_name,
               "model_version": health.model_version, "measured_at": measured_at}
        deciles += [{**key, **decile.model_dump(), "horizon_days": health.horizon_days}
                    for decile in health.deciles]
        drift += [{**key, "feature": name, "reference_as_of": health.reference_as_of,
                   "psi": value} for name, value in
                  [*health.feature_psi.items(), (SCORE, health.score_psi)]]
        feature, largest = (health.most_drifted(1) or [("", 0.0)])[0]
        runs.append({
            **key, **health.model_dump(include={
                "model_run_id", "horizon_days", "matures_on", "matured", "persons_scored",
                "reference_as_of", "inactive_30d_share", "score_psi", "training_base_rate",
                "test_roc_auc", "persons", "base_rate", "roc_auc", "pr_auc", "lift_at_10pct",
                "brier", "ece"}),
            "max_feature_psi": largest, "most_drifted_feature": feature,
            "breaches": json.dumps(health.breaches)})
    for table, rows in zip(TABLES, (deciles, drift, runs)):
        if rows:
            con.register("monitor_rows", pl.DataFrame(rows, infer_schema_length=None).to_arrow())
            con.execute(f"insert into {table} by name select * from monitor_rows")
            con.unregister("monitor_rows")

