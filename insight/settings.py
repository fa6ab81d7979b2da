"""The settings of the insight stage's job: the creative report (`norrut creatives`)."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from core.contract import ENGAGEMENT_EVENT_TYPES, INTENT_EVENT_TYPES
from core.settings import JobSettings, NameList
from models.settings import DEFAULT_MODEL_NAME, TrainSettings

# Everything a person does with content beyond being shown it.
DEFAULT_ENGAGEMENT_TYPES = tuple(kind for kind in ENGAGEMENT_EVENT_TYPES if kind != "impression")


class CreativesSettings(JobSettings):
    as_of: date | None = Field(
        default=None,
        description="Report date: the intent window ends the day before; empty means the day "
        "after the last event.")
    exposure_days: int = Field(
        default=14, ge=1, le=90,
        description="Days of the exposure window, which ends where the intent window starts.")
    horizon_days: int = Field(
        default=TrainSettings.model_fields["horizon_days"].default, ge=1, le=180,
        description="Intent window in days after the exposure window (the label's horizon).")
    intent_types: NameList = Field(
        default=INTENT_EVENT_TYPES, description="Intent event types that count, as the label's.")
    engagement_types: NameList = Field(
        default=DEFAULT_ENGAGEMENT_TYPES,
        description="Event types that count as engaging with a content item (an impression "
        "alone is being shown it).")
    min_persons: int = Field(
        default=100, ge=1,
        description="Fewest matched persons each group (engaged, shown but not engaged) needs "
        "before an item is ranked.")
    strata: int = Field(
        default=10, ge=1, le=50,
        description="Propensity strata per item: those shown it are cut at quantiles of their "
        "score before the exposure.")
    model_name: str = Field(
        default=DEFAULT_MODEL_NAME, description="Registered model whose champion gives the "
        "scores before the exposure.")
    tracking_uri: str | None = Field(
        default=None,
        description="MLflow tracking URI; empty means the SQLite store under the home.")
