"""Google Ads Customer Match list of mobile device ids.

Spec: Google Ads Help, "Customer Match data upload file formatting" (mobile device ID lists:
a CSV whose single header is `Mobile Device ID`, raw (unhashed) IDFA or AAID values, one per
line; the list is tied to one app, given by its app id when the list is created),
https://support.google.com/google-ads/answer/7659867 ; a list serves only once it has enough
active members (at least 100 here; Google suggests uploading thousands).
The app id comes from settings and is recorded in the segment's manifest. Ids are UUIDs, which
are case-insensitive (RFC 9562), and are written in Norrut's canonical form: lower-case.

Delta files: the add file (`google_ads-add.csv`) is the full file's format, uploaded to the list
as an addition. Customer Match removes members with remove operations: the remove file
(`google_ads-remove.json`) is the body of an OfflineUserDataJobService AddOfflineUserDataJobOperations
request, `{"operations": [{"remove": {"userIdentifiers": [{"mobileId": <id>}]}}, ...]}`
(Google Ads API, "Customer Match: manage user lists",
https://developers.google.com/google-ads/api/docs/remarketing/audience-segments/customer-match/get-started ;
the operation: `remove` of a UserData, whose userIdentifiers hold a mobileId,
https://developers.google.com/google-ads/api/reference/rpc/latest/OfflineUserDataJobOperation ).
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from activation.exporters.base import (
    MAID_PATTERN,
    ExportContext,
    SingleColumnExporter,
    WrittenFile,
    describe_file,
    require_all,
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
    how_to_add = "upload it to the Customer Match list as an addition"
    how_to_remove = ("send it as the operations of an offline user data job "
                     "(AddOfflineUserDataJobOperations) on the list")

    def file_name_of(self, kind: str) -> str:
        return "google_ads-remove.json" if kind == "remove" else super().file_name_of(kind)

    def unavailable_reason(self, context: ExportContext) -> str | None:
        reason = super().unavailable_reason(context)
        return None if reason is None else f"{reason}; a device-id list needs its app"

    def written_ids(self, rows: pl.DataFrame) -> pl.Series:
        return rows["person_id"]

    def write(self, rows: pl.DataFrame, folder: Path, context: ExportContext,
              kind: str = "full") -> list[WrittenFile]:
        # Unhashed, in the canonical form prepare() gave them; one device may not appear twice
        # in two cases.
        ids = rows["person_id"]
        require_unique(ids.str.to_lowercase(), self.name)
        return self.write_column(ids, pl.col("value").str.contains(MAID_PATTERN),
                                 "UUID device ids", folder, kind)

    def write_removals(self, ids: pl.Series, folder: Path,
                       context: ExportContext) -> list[WrittenFile]:
        require_all(ids.to_frame("value"), pl.col("value").str.contains(MAID_PATTERN),
                    "UUID device ids", self.name)
        require_unique(ids.str.to_lowercase(), self.name)
        operations = [{"remove": {"userIdentifiers": [{"mobileId": value}]}} for value in ids]
        path = folder / self.file_name_of("remove")
        path.write_text(json.dumps({"operations": operations}, separators=(",", ":")),
                        encoding="utf-8")
        return [describe_file(self.name, path, ids.len(), "remove")]

    def read_ids(self, path: Path, kind: str = "full") -> pl.Series:
        if kind != "remove":
            return super().read_ids(path, kind)
        operations = json.loads(path.read_bytes())["operations"]
        return pl.Series([identifier["mobileId"] for operation in operations
                          for identifier in operation["remove"]["userIdentifiers"]],
                         dtype=pl.String)
