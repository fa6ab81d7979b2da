"""Each job's sequence of steps, written once: the flow of flows/<job>.py and a command run
without a Prefect server (flows/run.py) both call these, with their own JobRun.

Every writing job holds the warehouse writer lock for its steps, resolves the as-of date with
the one default rule, then publishes its summary (a Prefect artifact in a flow run, a markdown
file under <home>/reports/ in a direct run). No Prefect is imported here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from core.home import NorrutHome
from features.settings import FeatureSettings
from flows import steps
from flows.reports import (
    export_markdown,
    features_markdown,
    ingest_markdown,
    monitor_markdown,
    optout_markdown,
    pipeline_markdown,
    scoring_markdown,
    training_markdown,
)
from flows.settings import PipelineSettings, training_due
from flows.steps import JobRun

if TYPE_CHECKING:
    from activation.export_run import ExportRunReport
    from activation.scoring import ScoreResult
    from activation.settings import (
        ExportSettings,
        LiftSettings,
        ScoreAndExportSettings,
        ScoreSettings,
    )
    from features.build import FeatureBuildResult
    from insight.creatives import CreativeReport
    from insight.settings import CreativesSettings
    from models.settings import TrainSettings
    from models.training import TrainResult
    from monitoring.report import HealthReport
    from monitoring.settings import MonitorSettings
    from warehouse.ingest import IngestReport
    from warehouse.settings import IngestSettings, OptoutSettings

INGEST_SUMMARY = ("ingest-summary", "Files and rows loaded and quarantined")
SEGMENTS_SUMMARY = ("segments-summary", "Segments written and skipped, and where")


@dataclass(frozen=True)
class PipelineResult:
    """What one pipeline run did; `export_folder` holds the segment files."""

    as_of: date
    ingest: IngestReport
    features: FeatureBuildResult
    training: TrainResult | None
    training_reason: str
    scores: ScoreResult
    export: ExportRunReport

    @property
    def export_folder(self) -> Path:
        return self.export.folder


def resolved_as_of(run: JobRun, as_of: date | None, home: NorrutHome, run_prefix: str) -> date:
    """The as-of date given, else the day after the newest event; the run is renamed
    <run_prefix>-<date> once it is known."""
    resolved = run.run(steps.resolve_as_of, as_of, home)
    run.rename(f"{run_prefix}-{resolved.isoformat()}")
    return resolved


def ingest_steps(run: JobRun, settings: IngestSettings) -> IngestReport:
    """The ingest steps, the caller holding the warehouse; returns the IngestReport."""
    from warehouse.ingest import StrictIngestError

    if settings.inbox is None:
        # The default inbox is ours to create, so the first hourly run finds it empty, not missing.
        settings.inbox_path().mkdir(parents=True, exist_ok=True)
    try:
        report = run.run(steps.ingest_inbox, settings)
    except StrictIngestError as strict_failure:
        # Everything valid was loaded: say what, then fail the run as --strict asks.
        run.publish(ingest_markdown(strict_failure.report), *INGEST_SUMMARY)
        raise
    run.publish(ingest_markdown(report), *INGEST_SUMMARY)
    return report


def ingest_job(run: JobRun, settings: IngestSettings) -> IngestReport:
    """Load the event files in the inbox; bad rows go to quarantine with their reason."""
    home = settings.norrut_home().ensure()
    with run.holding_the_warehouse(home, settings.lock_wait_seconds):
        return ingest_steps(run, settings)


def optout_job(run: JobRun, settings: OptoutSettings):
    """Under the writer lock, in this order: the opt-out transaction (suppress and delete);
    earlier export files rewritten without the persons or withdrawn; hidden temporary folders
    of killed exports deleted; the warehouse file rewritten so deleted rows leave no bytes
    (last, so it also covers the audit rows written before it). Each step is safe to rerun."""
    home = settings.norrut_home().ensure()
    warehouse_path, exports_dir = str(home.warehouse_path), str(home.exports_dir)
    with run.holding_the_warehouse(home, settings.lock_wait_seconds):
        report = run.run(steps.apply_optouts, warehouse_path, str(settings.optouts_path()))
        changes = run.run(steps.remove_persons_from_exports, warehouse_path, exports_dir,
                          report.run_id)
        temp_folders_removed = run.run(steps.remove_abandoned_export_folders, exports_dir)
        run.run(steps.compact_warehouse, warehouse_path)
    report = replace(
        report,
        export_files_rewritten=[c.export_file for c in changes if c.action == "rewritten"],
        export_files_withdrawn=[c.export_file for c in changes if c.action == "withdrawn"],
        temp_export_folders_removed=temp_folders_removed,
        warehouse_compacted=True,
    )
    run.publish(optout_markdown(report), "optout-summary", "Persons erased or suppressed")
    return report


def build_features_job(run: JobRun, settings: FeatureSettings) -> FeatureBuildResult:
    """Materialise features.person_features for one as-of date (rows for that date replaced)."""
    home = settings.norrut_home().ensure()
    with run.holding_the_warehouse(home, settings.lock_wait_seconds):
        resolved = resolved_as_of(run, settings.as_of, home, "build-features")
        result = run.run(steps.build_features, settings.model_copy(update={"as_of": resolved}))
    run.publish(features_markdown(result, resolved), "features-summary", "Features built")
    return result


def train_job(run: JobRun, settings: TrainSettings) -> TrainResult:
    """Train on snapshots before the as-of date, log to MLflow, and run the promotion step."""
    home = settings.norrut_home().ensure()
    with run.holding_the_warehouse(home, settings.lock_wait_seconds):
        resolved = resolved_as_of(run, settings.as_of, home, "train")
        result = run.run(steps.train_model, settings.model_copy(update={"as_of": resolved}))
    run.publish(training_markdown(result), "training-summary",
                "Model metrics against the champion, and the promotion decision")
    return result


def features_built_first(run: JobRun, home: NorrutHome, as_of: date,
                         lock_wait_seconds: float) -> FeatureBuildResult | None:
    """Build the features of `as_of` when none were built for it, so `norrut train` then
    `norrut score` works without a `norrut features build` between; None when they were. The
    caller holds the warehouse."""
    if run.run(steps.has_features, home, as_of):
        return None
    run.log(f"no features built for {as_of.isoformat()} yet: building them first")
    return run.run(steps.build_features, FeatureSettings(
        home=str(home.root), lock_wait_seconds=lock_wait_seconds, as_of=as_of))


def score_job(run: JobRun, settings: ScoreSettings) -> ScoreResult:
    """Score every eligible person with the champion; optionally write the ranked list. The
    date's features are built first when none were built for it."""
    home = settings.norrut_home().ensure()
    with run.holding_the_warehouse(home, settings.lock_wait_seconds):
        resolved = resolved_as_of(run, settings.as_of, home, "score")
        features = features_built_first(run, home, resolved, settings.lock_wait_seconds)
        result = run.run(steps.score_persons, settings.model_copy(update={"as_of": resolved}))
    run.publish(scoring_markdown(result, features), "scoring-summary",
                "Persons scored, and with which model")
    return result


def export_job(run: JobRun, settings: ExportSettings) -> ExportRunReport:
    """Write each segment's files for the ad platforms from the scores of one as-of date."""
    home = settings.norrut_home().ensure()
    with run.holding_the_warehouse(home, settings.lock_wait_seconds):
        resolved = resolved_as_of(run, settings.as_of, home, "export")
        report = run.run(steps.export_segments, settings.model_copy(update={"as_of": resolved}))
    run.publish(export_markdown(report), *SEGMENTS_SUMMARY)
    return report


def score_and_export_steps(run: JobRun, settings: ScoreAndExportSettings, as_of: date):
    """Score, then export the scores of that same run; the caller holds the warehouse."""
    scores = run.run(steps.score_persons, settings.score_settings(as_of))
    export = run.run(steps.export_segments, settings.export_settings(as_of))
    return scores, export


def score_and_export_job(run: JobRun, settings: ScoreAndExportSettings) -> ExportRunReport:
    """Score every eligible person with the champion, then write each segment's files. The
    date's features are built first when none were built for it."""
    home = settings.norrut_home().ensure()
    with run.holding_the_warehouse(home, settings.lock_wait_seconds):
        resolved = resolved_as_of(run, settings.as_of, home, "score-and-export")
        features = features_built_first(run, home, resolved, settings.lock_wait_seconds)
        scores, export = score_and_export_steps(run, settings, resolved)
    run.publish(scoring_markdown(scores, features) + "\n\n" + export_markdown(export),
                *SEGMENTS_SUMMARY)
    return export


def lift_job(run: JobRun, settings: LiftSettings):
    """Count intent events of the persons sent to a platform and of the segment's holdout,
    and write the campaign's lift file for the portal."""
    home = settings.norrut_home().ensure()
    exports_path = str(settings.exports_path())
    # The warehouse is only read, but DuckDB refuses a reader while a writer has the file open;
    # holding the lock also keeps an export from replacing the holdout mid-measurement.
    with run.holding_the_warehouse(home, settings.lock_wait_seconds):
        resolved_date, version = run.run(steps.find_export_run, exports_path, settings.segment,
                                         settings.as_of, settings.export_version)
        run.rename(f"lift-{resolved_date.isoformat()}")
        measurement = run.run(steps.measure_lift, settings.model_copy(
            update={"as_of": resolved_date, "export_version": version}))
    from activation.lift import lift_markdown

    run.publish(lift_markdown(measurement), "lift-summary",
                "Intent of the treated persons against the holdout, and the lift")
    return measurement


def monitor_job(run: JobRun, settings: MonitorSettings) -> HealthReport:
    """Backtest every matured scoring run, measure drift, log it to MLflow and write the
    portal's health file; publish the trend, then fail the run when a threshold was crossed."""
    from monitoring.health import ModelHealthAlarm

    home = settings.norrut_home().ensure()
    # It writes the monitoring tables (and may rebuild a snapshot's features).
    with run.holding_the_warehouse(home, settings.lock_wait_seconds):
        report = run.run(steps.measure_model_health, settings)
    run.publish(monitor_markdown(report), "model-health",
                "Backtests of matured scoring runs, drift, and the alarms raised")
    if report.alarms:
        raise ModelHealthAlarm(report.alarm_message())
    return report


def creatives_job(run: JobRun, settings: CreativesSettings) -> CreativeReport:
    """Compare the intent of persons who engaged with each content item, theme and campaign
    with that of comparable persons shown it who did not, and store the creative report."""
    home = settings.norrut_home().ensure()
    with run.holding_the_warehouse(home, settings.lock_wait_seconds):
        resolved = resolved_as_of(run, settings.as_of, home, "creatives")
        report = run.run(steps.measure_creatives, settings.model_copy(update={"as_of": resolved}))
    from insight.creatives import creatives_markdown

    run.publish(creatives_markdown(report), "creatives-summary",
                "Which films, themes and campaigns are followed by intent, adjusted")
    return report


def pipeline_job(run: JobRun, settings: PipelineSettings) -> PipelineResult:
    """Load the inbox, build features, train if the champion is missing or old, score, export."""
    home = settings.norrut_home().ensure()
    # One lock for the whole chain: no other writer slips in between ingest and export.
    with run.holding_the_warehouse(home, settings.lock_wait_seconds):
        loaded = ingest_steps(run, settings.ingest_settings())
        # Resolved after ingest, so the default is the day after the newest event just loaded.
        resolved = resolved_as_of(run, settings.as_of, home, "pipeline")
        features = run.run(steps.build_features, settings.feature_settings(resolved))
        due, why = training_due(run.run(steps.champion_trained_at, home.mlflow_tracking_uri),
                                datetime.now(UTC), settings.retrain_after_days)
        training = run.run(steps.train_model, settings.train_settings(resolved)) if due else None
        scores, export = score_and_export_steps(run, settings.score_and_export_settings(resolved),
                                                resolved)
    result = PipelineResult(resolved, loaded, features, training, why, scores, export)
    run.publish(pipeline_markdown(result), "pipeline-summary",
                "What the pipeline run did, step by step")
    return result
