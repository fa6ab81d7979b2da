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

from activation.exporters.base import (
    ExportContext,
    SingleColumnExporter,
    WrittenFile,
    sha256_hex,
)

SHA256_HEX_PATTERN = r"^[0-9a-f]{64}$"


class SnapchatExporter(SingleColumnExporter):
    name = "snapchat"
    label = "Snapchat"
    own_minimum = 1000
    id_form = "sha256_lower"
    header = "MOBILE_AD_ID_SHA256"
    file_name = "snapchat.csv"

    def write(self, rows: pl.DataFrame, folder: Path, context: ExportContext) -> list[WrittenFile]:
        digests = sha256_hex(rows["person_id"].str.to_lowercase())
        return self.write_column(digests, pl.col("value").str.contains(SHA256_HEX_PATTERN),
                                 "lower-case SHA-256 hex digests", folder)
