"""The settings of the feature build job."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from core.settings import JobSettings


class FeatureSettings(JobSettings):
    as_of: date | None = Field(
        default=None,
        description="Build features from the events strictly before this date; empty means "
        "the day after the last event.")
    # DuckDB's limit covers its buffer manager only; the process's peak RSS ran about 0.4 GB
    # above it at 3e7 events (bench/results/features.md), so 3 GB keeps the build under 4 GB.
    memory_limit: str | None = Field(
        default="3GB", description="DuckDB memory limit for the build (it spills beyond it).")
    threads: int | None = Field(
        default=None, ge=1, description="DuckDB threads for the build; empty means every core.")
