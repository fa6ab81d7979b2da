"""Google Ads Customer Match list of mobile device ids.

Spec: Google Ads Help, "Customer Match data upload file formatting" (mobile device ID lists:
a CSV whose single header is `Mobile Device ID`, raw (unhashed) IDFA or AAID values, one per
line; the list is tied to one app, given by its app id when the list is created),
https://support.google.com/google-ads/answer/7659867 ; a list serves only once it has enough
active members (at least 100 here; Google suggests uploading thousands).
The app id comes from settings and is recorded in the segment's manifest. Ids are UUIDs, which
are case-insensitive (RFC 9562), and are written in Norrut's canonical form: lower-case.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from activation.exporters.base import (
    MAID_PATTERN,
    ExportContext,
    SingleColumnExporter,
    WrittenFile,
    require_unique,
)


class GoogleAdsExporter(SingleColumnExporter):
    name = "google_ads"
    label = "Google Ads Customer Match"
    spec = 'Google Ads Help, "Customer Match data upload file formatting"'
    spec_url = "https://support.google.com/google-ads/answer/7659867"
    own_minimum = 100
    required_settings = ("google_ads.app_id",)
    header = "Mobile Device ID"
    file_name = "google_ads.csv"

    def unavailable_reason(self, context: ExportContext) -> str | None:
        reason = super().unavailable_reason(context)
        return None if reason is None else f"{reason}; a device-id list needs its app"

    def write(self, rows: pl.DataFrame, folder: Path, context: ExportContext) -> list[WrittenFile]:
        # Unhashed, in the canonical form prepare() gave them; one device may not appear twice
        # in two cases.
        ids = rows["person_id"]
        require_unique(ids.str.to_lowercase(), self.name)
        return self.write_column(ids, pl.col("value").str.contains(MAID_PATTERN),
                                 "UUID device ids", folder)
