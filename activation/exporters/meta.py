"""Meta (Facebook/Instagram) Custom Audience customer file with mobile advertiser ids.

Spec: Meta Business Help Center, "Customer list formatting guidelines" (identifier `MADID`,
header `madid`; Android advertising id or Apple IDFA, sent unhashed and lower-cased),
https://www.facebook.com/business/help/2082575038703844 , and "About customer list custom
audiences" (Meta advises at least 100 people in a list),
https://www.facebook.com/business/help/341425252616329 .
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


class MetaExporter(SingleColumnExporter):
    name = "meta"
    label = "Meta (Facebook and Instagram)"
    own_minimum = 100
    header = "madid"
    file_name = "meta.csv"

    def write(self, rows: pl.DataFrame, folder: Path, context: ExportContext) -> list[WrittenFile]:
        return self.write_column(
            rows["person_id"].str.to_lowercase(),
            pl.col("value").str.contains(MAID_PATTERN)
            & (pl.col("value") == pl.col("value").str.to_lowercase()),
            "lower-case UUID advertiser ids", folder)
