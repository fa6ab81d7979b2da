"""One typed settings object per flow. Field names are the flow's parameters, and the
parameters of its deployments in prefect.yaml (tests/test_flows_settings.py holds them equal).

Paths left empty resolve under the Norrut home ($NORRUT_HOME, else ./.norrut), so the
deployments' defaults work from a checkout of the repo.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from activation.definitions import SEGMENT_NAME_PATTERN, Destination
from core.home import NorrutHome
from warehouse.ingest import DEFAULT_EARLIEST_OCCURRED_AT

DEFAULT_LOCK_WAIT_SECONDS = 600.0
DEFAULT_MODEL_NAME = "curious-about-working-here"


class _FlowSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    home: str | None = Field(
        default=None, description="Norrut home folder; empty means $NORRUT_HOME, else ./.norrut.")
    lock_wait_seconds: float = Field(
        default=DEFAULT_LOCK_WAIT_SECONDS, ge=0,
        description="How long to wait for another run to release the warehouse before failing.")

    def norrut_home(self) -> NorrutHome:
        return NorrutHome.resolve(self.home)


class IngestSettings(_FlowSettings):
    inbox: str | None = Field(
        default=None, description="Folder of event files to load; empty means <home>/inbox.")
    catalog: str | None = Field(
        default=None, description="Content catalog file (CSV, JSON or Parquet); optional.")
    strict: bool = Field(
        default=False, description="Fail the run when any row is quarantined.")
    earliest_occurred_at: AwareDatetime = Field(
        default=DEFAULT_EARLIEST_OCCURRED_AT,
        description="Events before this instant are implausible (no campaign ran then) and "
        "quarantined as bad_occurred_at; an epoch in seconds, read as milliseconds, lands in "
        "January 1970.")

    def inbox_path(self) -> Path:
        return Path(self.inbox) if self.inbox else self.norrut_home().root / "inbox"


class OptoutSettings(_FlowSettings):
    optouts_csv: str | None = Field(
        default=None, description="Opt-out CSV to apply; empty means <home>/inbox/optouts.csv.")

    def optouts_path(self) -> Path:
        if self.optouts_csv:
            return Path(self.optouts_csv)
        return self.norrut_home().root / "inbox" / "optouts.csv"


class BuildFeaturesSettings(_FlowSettings):
    as_of: date | None = Field(
        default=None,
        description="Features as of this date; empty means the day after the last event.")


class TrainSettings(_FlowSettings):
    as_of: date | None = Field(
        default=None,
        description="Train on features as of this date; empty means the day after the last "
        "event.")
    promote: bool = Field(
        default=True, description="Make the new model champion when it beats the current one.")
    horizon_days: int = Field(
        default=14, ge=1, le=180,
        description="Label window in days: intent within this many days of a snapshot.")
    intent_types: list[str] | None = Field(
        default=None,
        description="Intent event types that count as the label; empty means every intent "
        "type of the contract.")
    n_training_snapshots: int = Field(
        default=6, ge=1, le=52,
        description="Weekly training snapshots (fewer when the events start later).")
    snapshot_interval_days: int = Field(
        default=7, ge=1, description="Days between training snapshots.")
    min_positives: int = Field(
        default=100, ge=1, description="Fewest positive persons each set must hold.")
    optuna_trials: int = Field(
        default=0, ge=0, description="Optuna trials for a parameter search (0 = the defaults).")
    model_name: str = Field(default=DEFAULT_MODEL_NAME, description="Registered model name.")
    tracking_uri: str | None = Field(
        default=None,
        description="MLflow tracking URI; empty means the SQLite store under the home.")

    def model_options(self) -> dict:
        """The fields that models.training.TrainSettings takes as they are (besides as_of)."""
        options = self.model_dump(include={
            "promote", "horizon_days", "n_training_snapshots", "snapshot_interval_days",
            "min_positives", "optuna_trials", "model_name", "tracking_uri"})
        if self.intent_types is not None:
            options["intent_types"] = tuple(self.intent_types)
        return options


class ScoreAndExportSettings(_FlowSettings):
    as_of: date | None = Field(
        default=None,
        description="Score and export as of this date; empty means the day after the last "
        "event.")
    segments_file: str | None = Field(
        default=None,
        description="Segments YAML to export; empty means the segments shipped with Norrut.")


class ScoreSettings(_FlowSettings):
    as_of: date | None = Field(
        default=None,
        description="Score with the features of this date; empty means the day after the last "
        "event.")
    model_name: str = Field(
        default=DEFAULT_MODEL_NAME, description="Registered model whose champion scores.")
    out: str | None = Field(
        default=None,
        description="Also write the ranked list as the generic CSV to this file; optional.")


class ExportSettings(_FlowSettings):
    as_of: date | None = Field(
        default=None,
        description="Export the scores of this date; empty means the day after the last event.")
    segments_file: str | None = Field(
        default=None,
        description="Segments YAML to export; empty means the segments shipped with Norrut.")
    model_name: str | None = Field(
        default=None,
        description="Export this model's scores; empty means the model most recently scored "
        "for the date.")
    exports_dir: str | None = Field(
        default=None, description="Exports folder to write into; empty means <home>/exports.")

    def exports_path(self) -> Path:
        return Path(self.exports_dir) if self.exports_dir else self.norrut_home().exports_dir


class LiftSettings(_FlowSettings):
    segment: str = Field(
        default="top-decile", pattern=SEGMENT_NAME_PATTERN,
        description="Segment whose campaign is measured (its name in the segments YAML).")
    as_of: date | None = Field(
        default=None,
        description="As-of date of the export run; empty means the newest that wrote the "
        "segment.")
    export_version: int | None = Field(
        default=None, ge=1,
        description="Export version (v<N>) of that date; empty means the newest that wrote the "
        "segment.")
    destination: Destination = Field(
        default="meta", description="Ad platform the campaign ran on (its file is the treated "
        "group).")
    start: date | None = Field(
        default=None,
        description="First day of the measurement period; empty means the day after the as-of "
        "date.")
    end: date | None = Field(
        default=None,
        description="Last day of the measurement period; empty means the day of the newest "
        "event.")
    campaign: str | None = Field(
        default=None,
        description="Campaign name, also the lift file's name (letters, digits, '.', '_', "
        "'-'); empty means "
        "<segment>-<as_of>-v<N>-<destination>.")
    intent_types: list[str] | None = Field(
        default=None,
        description="Intent event types that count as a conversion; empty means every intent "
        "type of the contract (the label's default).")
    exports_dir: str | None = Field(
        default=None,
        description="Exports folder holding the export runs and lift/; empty means "
        "<home>/exports.")

    def exports_path(self) -> Path:
        return Path(self.exports_dir) if self.exports_dir else self.norrut_home().exports_dir


class PipelineSettings(_FlowSettings):
    as_of: date | None = Field(
        default=None,
        description="Run the chain for this date; empty means the day after the last event.")
    inbox: str | None = Field(
        default=None, description="Folder of event files to load; empty means <home>/inbox.")
    catalog: str | None = Field(
        default=None, description="Content catalog file (CSV, JSON or Parquet); optional.")
    segments_file: str | None = Field(
        default=None,
        description="Segments YAML to export; empty means the segments shipped with Norrut.")
    retrain_after_days: int = Field(
        default=7, ge=0,
        description="Train a new model when the champion is missing or older than this.")

    def inbox_path(self) -> Path:
        return Path(self.inbox) if self.inbox else self.norrut_home().root / "inbox"


def day_after(last_event_on: date | None, today: date) -> date:
    """The default as-of date: the day after the last event, or today for an empty warehouse."""
    return today if last_event_on is None else last_event_on + timedelta(days=1)


def training_due(champion_trained_at: datetime | None, now: datetime,
                 retrain_after_days: int) -> tuple[bool, str]:
    """Whether the pipeline trains a new model, and why, in words for the run summary."""
    if champion_trained_at is None:
        return True, "there is no champion model yet"
    age = now - champion_trained_at
    age_text = f"{age.total_seconds() / 86400:.1f} days ago"
    if age >= timedelta(days=retrain_after_days):
        return True, (f"the champion was trained {age_text}, longer ago than "
                      f"{retrain_after_days} days")
    return False, (f"the champion was trained {age_text}, within {retrain_after_days} days")
