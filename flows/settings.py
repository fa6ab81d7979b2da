"""The pipeline job's settings: the whole chain, each step with the settings of its own job.

The other jobs' settings live with their stages (warehouse/settings.py, features/settings.py,
models/settings.py, activation/settings.py), on the base in core/settings.py.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pydantic import Field

from activation.settings import ScoreAndExportSettings
from core.settings import JobSettings, PathText
from features.settings import FeatureSettings
from models.settings import TrainSettings
from warehouse.settings import IngestSettings


class PipelineSettings(JobSettings):
    as_of: date | None = Field(
        default=None,
        description="Run the chain for this date; empty means the day after the last event.")
    inbox: PathText | None = Field(
        default=None, description="Folder of event files to load; empty means <home>/inbox.")
    catalog: PathText | None = Field(
        default=None, description="Content catalog file (CSV, JSON or Parquet); optional.")
    segments_file: PathText | None = Field(
        default=None,
        description="Segments YAML to export; empty means the segments shipped with Norrut.")
    retrain_after_days: int = Field(
        default=7, ge=0,
        description="Train a new model when the champion is missing or older than this.")

    def ingest_settings(self) -> IngestSettings:
        return IngestSettings(**self._shared(), inbox=self.inbox, catalog=self.catalog)

    def feature_settings(self, as_of: date) -> FeatureSettings:
        return FeatureSettings(**self._shared(), as_of=as_of)

    def train_settings(self, as_of: date) -> TrainSettings:
        return TrainSettings(**self._shared(), as_of=as_of)

    def score_and_export_settings(self, as_of: date) -> ScoreAndExportSettings:
        return ScoreAndExportSettings(**self._shared(), as_of=as_of,
                                      segments_file=self.segments_file)

    def _shared(self) -> dict[str, object]:
        return {"home": self.home, "lock_wait_seconds": self.lock_wait_seconds}



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
