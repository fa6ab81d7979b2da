"""The settings of the activation stage's jobs: score, export, score-and-export and lift."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import Field, field_validator

from core.settings import JobSettings, NameList, PathText
from models.settings import DEFAULT_MODEL_NAME

# Kept here, not imported from the definitions, so that a command's --help needs no exporter.
SEGMENT_NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"


class _ExportsFolder(JobSettings):
    exports_dir: PathText | None = Field(
        default=None, description="Exports folder; empty means <home>/exports.")

    def exports_path(self) -> Path:
        return Path(self.exports_dir) if self.exports_dir else self.norrut_home().exports_dir


class ScoreSettings(JobSettings):
    as_of: date | None = Field(
        default=None,
        description="Score with the features of this date; empty means the day after the last "
        "event.")
    model_name: str = Field(
        default=DEFAULT_MODEL_NAME, description="Registered model whose champion scores.")
    tracking_uri: str | None = Field(
        default=None,
        description="MLflow tracking URI; empty means the SQLite store under the home.")
    out: PathText | None = Field(
        default=None,
        description="Also write the ranked list as the generic CSV to this file; optional.")


class ExportSettings(_ExportsFolder):
    as_of: date | None = Field(
        default=None,
        description="Export the scores of this date; empty means the day after the last event.")
    segments_file: PathText | None = Field(
        default=None,
        description="Segments YAML to export; empty means the segments shipped with Norrut.")
    model_name: str | None = Field(
        default=None,
        description="Export this model's scores; empty means the model most recently scored "
        "for the date.")
    tracking_uri: str | None = Field(
        default=None,
        description="MLflow tracking URI holding the model that made the scores (for the "
        "segment drivers); empty means the SQLite store under the home.")


class ScoreAndExportSettings(JobSettings):
    as_of: date | None = Field(
        default=None,
        description="Score and export as of this date; empty means the day after the last "
        "event.")
    segments_file: PathText | None = Field(
        default=None,
        description="Segments YAML to export; empty means the segments shipped with Norrut.")

    def score_settings(self, as_of: date) -> ScoreSettings:
        return ScoreSettings(home=self.home, lock_wait_seconds=self.lock_wait_seconds,
                             as_of=as_of)

    def export_settings(self, as_of: date) -> ExportSettings:
        return ExportSettings(home=self.home, lock_wait_seconds=self.lock_wait_seconds,
                              as_of=as_of, segments_file=self.segments_file)


class LiftSettings(_ExportsFolder):
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
    destination: str = Field(
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
        "'-'); empty means <segment>-<as_of>-v<N>-<destination>.")
    intent_types: NameList | None = Field(
        default=None,
        description="Intent event types that count as a conversion; empty means every intent "
        "type of the contract (the label's default).")

    @field_validator("destination")
    @classmethod
    def _registered_destination(cls, value: str) -> str:
        from activation.exporters import EXPORTERS  # the registry, read when a value is checked

        if value not in EXPORTERS:
            raise ValueError(f"unknown destination {value!r}; one of: {', '.join(EXPORTERS)}")
        return value
