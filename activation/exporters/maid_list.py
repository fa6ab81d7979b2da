"""The customer list of mobile advertiser ids that Meta, TikTok and Snapchat take alike.

One header line, then one MAID a line: lower-cased (`id_form` "lower"), or the lower-case hex
SHA-256 of the lower-cased id (`id_form` "sha256_lower"). Each platform's module declares only
its own facts (name, label, header, file name, minimum, id form) and cites its spec.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from activation.exporters.base import (
    MAID_PATTERN,
    ExportContext,
    SingleColumnExporter,
    WrittenFile,
    sha256_hex,
)

SHA256_HEX_PATTERN = r"^[0-9a-f]{64}$"


class MaidListExporter(SingleColumnExporter):
    """A platform's MAID customer list; subclasses set the class facts only. The platforms take
    a removal upload of the same one-column schema, so the add and remove files are the full
    file's format (the spec each module cites)."""

    how_to_add = "upload it to the customer list as an addition"
    how_to_remove = "upload it to the customer list as a removal (remove customers)"

    def written_ids(self, rows: pl.DataFrame) -> pl.Series:
        ids = rows["person_id"].str.to_lowercase()
        if self.id_form == "sha256_lower":
            return sha256_hex(ids)
        if self.id_form == "lower":
            return ids
        raise ValueError(f"{self.name}: a MAID list holds lower-cased or hashed ids, "
                         f"not the id form {self.id_form!r}")

    def write(self, rows: pl.DataFrame, folder: Path, context: ExportContext,
              kind: str = "full") -> list[WrittenFile]:
        return self._write_ids(self.written_ids(rows), folder, kind)

    def write_removals(self, ids: pl.Series, folder: Path,
                       context: ExportContext) -> list[WrittenFile]:
        return self._write_ids(ids, folder, "remove")

    def _write_ids(self, ids: pl.Series, folder: Path, kind: str) -> list[WrittenFile]:
        if self.id_form == "sha256_lower":
            return self.write_column(ids, pl.col("value").str.contains(SHA256_HEX_PATTERN),
                                     "lower-case SHA-256 hex digests", folder, kind)
        return self.write_column(
            ids,
            pl.col("value").str.contains(MAID_PATTERN)
            & (pl.col("value") == pl.col("value").str.to_lowercase()),
            "lower-case UUID advertiser ids", folder, kind)
