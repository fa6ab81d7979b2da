"""Generic destination: the contract's segment CSV (shared/CONTRACT.md §4).

Header `person_id,id_type,score,rank,decile`; every id type; `score` the calibrated
probability of an intent event, `rank` 1 the most likely person and `decile` 1 the top tenth
of all persons scored for the as-of date (so ranks stay comparable between segments).
The add file (`generic-add.csv`) has the same columns; the remove file (`generic-remove.csv`)
only `person_id`: a person who left may have no score of the date (consent withdrawn, opted out).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from activation.exporters.base import (
    AUDIENCE_COLUMNS,
    ExportContext,
    Exporter,
    PreparedAudience,
    WrittenFile,
    canonical_audience,
    describe_file,
    require_all,
    require_unique,
)
from core.contract import ID_TYPES, PERSON_ID_PATTERN


class GenericExporter(Exporter):
    name = "generic"
    label = "All people (generic CSV)"
    spec = "shared/CONTRACT.md §4, the segment CSV"
    spec_url = None  # Norrut's own contract, not a platform's
    own_minimum = 1
    id_types = ID_TYPES
    id_form = "canonical"
    file_name = "generic.csv"

    def reaches(self) -> pl.Expr:
        return pl.lit(True)  # every id type, as it is

    def prepare(self, audience: pl.DataFrame) -> PreparedAudience:
        return PreparedAudience(canonical_audience(audience).select(AUDIENCE_COLUMNS), 0)

    def written_ids(self, rows: pl.DataFrame) -> pl.Series:
        return rows["person_id"]

    def write_removals(self, ids: pl.Series, folder: Path,
                       context: ExportContext) -> list[WrittenFile]:
        rows = ids.to_frame("person_id")
        require_all(rows, pl.col("person_id").str.contains(PERSON_ID_PATTERN),
                    "contract person ids", self.name)
        require_unique(rows["person_id"], self.name)
        path = folder / self.file_name_of("remove")
        rows.write_csv(path)
        return [describe_file(self.name, path, rows.height, "remove")]

    def write(self, rows: pl.DataFrame, folder: Path, context: ExportContext,
              kind: str = "full") -> list[WrittenFile]:
        require_all(rows, pl.col("person_id").str.contains(PERSON_ID_PATTERN),
                    "contract person ids", self.name)
        require_all(rows, pl.col("id_type").is_in(ID_TYPES), "contract id types", self.name)
        require_all(rows, pl.col("score").is_finite() & pl.col("score").is_between(0, 1),
                    "probabilities in 0..1", self.name)
        require_all(rows, pl.col("rank") >= 1, "ranks of 1 or more", self.name)
        require_all(rows, pl.col("decile").is_between(1, 10), "deciles 1..10", self.name)
        require_unique(rows["person_id"], self.name)
        path = folder / self.file_name_of(kind)
        rows.sort("rank").select(AUDIENCE_COLUMNS).write_csv(path)
        return [describe_file(self.name, path, rows.height, kind)]

    def read_ids(self, path: Path, kind: str = "full") -> pl.Series:
        return pl.read_csv(path, infer_schema=False, columns=["person_id"])["person_id"]

    def write_kept_rows(self, path: Path, keep: pl.Series, target: Path) -> int:
        # Read as text and written back as text, so every kept value keeps its exact spelling.
        kept = pl.read_csv(path, infer_schema=False).filter(keep)
        kept.write_csv(target)
        return kept.height

