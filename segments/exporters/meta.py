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

from segments.exporters.base import (
    MAID_PATTERN,
    ExportContext,
    Exporter,
    WrittenFile,
    describe_file,
    require_all,
    require_unique,
    write_single_column_csv,
)


class MetaExporter(Exporter):
    name = "meta"
    own_minimum = 100
    header = "madid"
    file_name = "meta.csv"

    def write(self, rows: pl.DataFrame, folder: Path, context: ExportContext) -> list[WrittenFile]:
        ids = rows["person_id"].str.to_lowercase()
        frame = ids.to_frame("id")
        require_all(frame, pl.col("id").str.contains(MAID_PATTERN)
                    & (pl.col("id") == pl.col("id").str.to_lowercase()),
                    "lower-case UUID advertiser ids", self.name)
        require_unique(ids, self.name)
        path = folder / self.file_name
        written = write_single_column_csv(ids, self.header, path)
        return [describe_file(self.name, path, written)]
