"""Snapchat Ads Manager customer list of hashed mobile advertiser ids.

Spec: Snap Business Help Center, "Create a Customer List audience" (customer lists of e-mail,
phone or mobile advertiser id; lists need at least 1,000 matched Snapchatters to be targetable),
https://businesshelp.snapchat.com/s/article/create-sam-audience?language=en_US , with Snap's
normalisation for mobile advertiser ids (IDFA/AAID lower-cased, then SHA-256, lower-case hex)
as restated in https://docs.getcensus.com/destinations/available-destinations/snapchat .
The column header is `MOBILE_AD_ID_SHA256`.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from segments.exporters.base import (
    ExportContext,
    Exporter,
    WrittenFile,
    describe_file,
    require_all,
    require_unique,
    sha256_hex,
    write_single_column_csv,
)

SHA256_HEX_PATTERN = r"^[0-9a-f]{64}$"


class SnapchatExporter(Exporter):
    name = "snapchat"
    own_minimum = 1000
    header = "MOBILE_AD_ID_SHA256"
    file_name = "snapchat.csv"

    def write(self, rows: pl.DataFrame, folder: Path, context: ExportContext) -> list[WrittenFile]:
        digests = sha256_hex(rows["person_id"].str.to_lowercase())
        require_all(digests.to_frame("digest"), pl.col("digest").str.contains(SHA256_HEX_PATTERN),
                    "lower-case SHA-256 hex digests", self.name)
        require_unique(digests, self.name)
        path = folder / self.file_name
        written = write_single_column_csv(digests, self.header, path)
        return [describe_file(self.name, path, written)]
