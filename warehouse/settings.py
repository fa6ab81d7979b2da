"""The settings of the warehouse's jobs: ingest and optout."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pydantic import AwareDatetime, Field

from core.settings import JobSettings, PathText

# Events before this are implausible (no campaign ran then): an epoch in seconds read as
# milliseconds, say, lands in January 1970.
DEFAULT_EARLIEST_OCCURRED_AT = datetime(2020, 1, 1, tzinfo=UTC)


class IngestSettings(JobSettings):
    inbox: PathText | None = Field(
        default=None, description="Folder of event files to load; empty means <home>/inbox.")
    catalog: PathText | None = Field(
        default=None, description="Content catalog file (CSV, JSON or Parquet); optional.")
    strict: bool = Field(
        default=False, description="Fail the run when any row is quarantined.")
    earliest_occurred_at: AwareDatetime = Field(
        default=DEFAULT_EARLIEST_OCCURRED_AT,
        description="Events before this instant are implausible (no campaign ran then) and "
        "quarantined as bad_occurred_at; an epoch in seconds, read as milliseconds, lands in "
        "January 1970.")

    def inbox_path(self) -> Path:
        return Path(self.inbox) if self.inbox else self.norrut_home().inbox_dir


class OptoutSettings(JobSettings):
    optouts_csv: PathText | None = Field(
        default=None, description="Opt-out CSV to apply; empty means <home>/inbox/optouts.csv.")

    def optouts_path(self) -> Path:
        return Path(self.optouts_csv) if self.optouts_csv else self.norrut_home().optouts_csv
