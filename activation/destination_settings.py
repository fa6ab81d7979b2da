"""The `destination_settings` block of the segments file: what some destinations need to write.

Its own module so that the exporters (which read it) and the segment definitions (which hold it,
and list the destinations from the exporters' registry) import it without importing each other.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

MAX_TTD_TTL_MINUTES = 180 * 24 * 60


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GoogleAdsSettings(_Strict):
    # Android package name or numeric iOS App Store id of the app the list is for.
    app_id: Annotated[str, Field(pattern=r"^([A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)+|[0-9]{6,12})$")]


class TheTradeDeskSettings(_Strict):
    advertiser_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9]{1,32}$")]
    ttl_minutes: Annotated[int, Field(ge=1, le=MAX_TTD_TTL_MINUTES)] = 30 * 24 * 60


class DestinationSettings(_Strict):
    """One optional block per destination that needs settings (Exporter.required_settings)."""

    google_ads: GoogleAdsSettings | None = None
    the_trade_desk: TheTradeDeskSettings | None = None
