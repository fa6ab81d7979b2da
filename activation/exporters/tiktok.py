"""TikTok Ads Manager customer file of mobile advertiser ids.

Spec: TikTok Business Help Center, "List of supported IDs and formats for a customer file"
(MAIDs: Apple IDFA or Google GAID, original value, header `MAID`, one entry per line, all
characters upper- or all lower-case, consistently),
https://ads.tiktok.com/help/article/list-of-supported-ids-and-formats-for-a-customer-file ;
a custom audience of fewer than 1,000 matched users cannot be used for delivery, so smaller
files are not written. Ids are written lower-case.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from activation.exporters.base import (
    MAID_PATTERN,
    ExportContext,
    SingleColumnExporter,
    WrittenFile,
)


class TikTokExporter(SingleColumnExporter):
    name = "tiktok"
    label = "TikTok"
    own_minimum = 1000
    header = "MAID"
    file_name = "tiktok.csv"

    def write(self, rows: pl.DataFrame, folder: Path, context: ExportContext) -> list[WrittenFile]:
        return self.write_column(
            rows["person_id"].str.to_lowercase(),
            pl.col("value").str.contains(MAID_PATTERN)
            & (pl.col("value") == pl.col("value").str.to_lowercase()),
            "lower-case UUID advertiser ids", folder)
