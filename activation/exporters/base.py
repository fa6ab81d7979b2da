"""The shared base of every destination: which ids it takes, how they are checked, file facts.

An exporter receives a segment's exported audience (person_id, id_type, score, rank, decile;
holdout already removed, every person eligible) and writes that destination's file(s) into a
folder. Ids are written in their one canonical form (core.contract.canonical_person_id: a
MAID lower-cased), so a person is one row in every file however a device spelled the id.
Values are checked before anything is written: a structural fault (a score outside 0..1, a bad
rank, an id twice) is a bug and raises; an id the platform cannot use (not a UUID, the all-zero
"limit ad tracking" id) is left out of that platform's file and counted.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import ClassVar

import duckdb
import polars as pl

from activation.destination_settings import DestinationSettings
from core.contract import UUID_PATTERN, canonical_person_id
from warehouse.sql_files import read_sql

# IDFA and GAID are UUIDs (8-4-4-4-12 hex digits), in either case.
MAID_PATTERN = UUID_PATTERN
ZERO_MAID = "00000000-0000-0000-0000-000000000000"
AUDIENCE_COLUMNS = ("person_id", "id_type", "score", "rank", "decile")
# The files of one destination in one export run: the whole audience, and against the previous
# run of the segment and destination the persons who joined and those who left.
FILE_KINDS = ("full", "add", "remove")


class ExportValidationError(ValueError):
    """A value about to be written breaks the destination's format."""


@dataclass(frozen=True)
class ExportContext:
    segment_name: str
    as_of: date
    settings: DestinationSettings


@dataclass(frozen=True)
class WrittenFile:
    destination: str
    file: str
    rows: int
    bytes: int
    sha256: str
    kind: str = "full"  # one of FILE_KINDS

    def as_manifest(self) -> dict[str, object]:
        return {"destination": self.destination, "file": self.file, "kind": self.kind,
                "rows": self.rows, "bytes": self.bytes, "sha256": self.sha256}


def entry_kind(entry: dict[str, object]) -> str:
    """The kind of a manifest's file entry; manifests made before delta files list full files."""
    kind = entry.get("kind", "full")
    return kind if isinstance(kind, str) else "full"


@dataclass(frozen=True)
class PreparedAudience:
    """The rows a destination will write, and how many it had to leave out."""

    rows: pl.DataFrame
    ids_rejected: int


class Exporter:
    """One destination. Subclasses set the class facts and implement `write`; registering the
    class in `activation.exporters.EXPORTERS` is all it takes for Norrut to write it."""

    name: ClassVar[str]  # as segments files, manifests and the lift command name it
    label: ClassVar[str]  # what a campaign manager reads in the portal
    # The published format the files follow (a document's title), and where to read it.
    spec: ClassVar[str]
    spec_url: ClassVar[str | None]
    # The platform's own smallest audience; the run's configured minimum applies on top.
    own_minimum: ClassVar[int]
    id_types: ClassVar[tuple[str, ...]] = ("maid",)
    # How the file holds a person's canonical id: "canonical" (as it is), "lower" (lower-cased) or
    # "sha256_lower" (lower-case hex SHA-256 of the lower-cased id). Lift and erasure match a
    # file's ids back to persons by it.
    id_form: ClassVar[str] = "lower"
    # The fields of DestinationSettings it reads, as "<block>.<field>": without its block the
    # destination is not written, and every run's manifests record each value.
    required_settings: ClassVar[tuple[str, ...]] = ()
    # How a person who leaves the audience leaves the platform's list: "upload" (the platform
    # takes a remove file, written by write_removals) or "ttl" (the platform drops a person an
    # upload no longer refreshes, so leaving needs no file).
    removal: ClassVar[str] = "upload"
    # The platform's own words for uploading the add and the remove file (the manifest and the
    # portal say them).
    how_to_add: ClassVar[str] = "upload it to the list as an addition (append)"
    how_to_remove: ClassVar[str] = "upload it to the list as a removal"

    def unavailable_reason(self, context: ExportContext) -> str | None:
        """Why this destination cannot be written with the current settings, or None."""
        for setting in self.required_settings:
            block = setting.partition(".")[0]
            if getattr(context.settings, block) is None:
                return f"no {setting} in destination_settings"
        return None

    def reaches(self) -> pl.Expr:
        """Which persons (person_id, id_type) `prepare` keeps; lift narrows the holdout alike."""
        return pl.col("id_type").is_in(list(self.id_types)) & is_usable_maid(pl.col("person_id"))

    def prepare(self, audience: pl.DataFrame) -> PreparedAudience:
        """Keep the id types this platform takes, and only ids it can use, once each."""
        own_types = canonical_audience(audience).filter(pl.col("id_type").is_in(self.id_types))
        usable = own_types.filter(self.reaches())
        return PreparedAudience(usable, own_types.height - usable.height)

    def write(self, rows: pl.DataFrame, folder: Path, context: ExportContext,
              kind: str = "full") -> list[WrittenFile]:
        """Write prepared rows as the full file, or (kind "add") as the file of joiners."""
        raise NotImplementedError

    def written_ids(self, rows: pl.DataFrame) -> pl.Series:
        """The ids of prepared rows as this destination's files hold them (its id_form), in
        row order: what a delta compares and a remove file lists."""
        raise NotImplementedError

    def write_removals(self, ids: pl.Series, folder: Path,
                       context: ExportContext) -> list[WrittenFile]:
        """The remove file of ids already written in this destination's form (written_ids)."""
        raise NotImplementedError

    def read_ids(self, path: Path, kind: str = "full") -> pl.Series:
        """The ids of one file this destination wrote, in file order (in its id_form)."""
        raise NotImplementedError

    def write_kept_rows(self, path: Path, keep: pl.Series, target: Path) -> int:
        """Write `target` as `path` (a full or add file) in the same format, with only the rows
        where `keep` is true (one flag per id of read_ids); how many rows it holds. For
        erasure."""
        raise NotImplementedError

    def file_name_of(self, kind: str) -> str:
        """The name of this destination's file of `kind`: `meta.csv`, `meta-add.csv`, ..."""
        name = Path(self.file_name)  # type: ignore[attr-defined]
        return name.name if kind == "full" else f"{name.stem}-{kind}{name.suffix}"


class SingleColumnExporter(Exporter):
    """A destination whose file is one header line, then one identifier a line."""

    header: ClassVar[str]
    file_name: ClassVar[str]

    def write_column(self, values: pl.Series, check: pl.Expr, what: str, folder: Path,
                     kind: str = "full") -> list[WrittenFile]:
        """Check every value (`check` reads `pl.col("value")`), refuse duplicates, write."""
        require_all(values.to_frame("value"), check, what, self.name)
        require_unique(values, self.name)
        path = folder / self.file_name_of(kind)
        written = write_single_column_csv(values, self.header, path)
        return [describe_file(self.name, path, written, kind)]

    def read_ids(self, path: Path, kind: str = "full") -> pl.Series:
        # The add and remove files have the full file's one column.
        return pl.read_csv(path, infer_schema=False, columns=[self.header])[self.header]

    def write_kept_rows(self, path: Path, keep: pl.Series, target: Path) -> int:
        return write_single_column_csv(self.read_ids(path).filter(keep), self.header, target)


def setting_value(settings: DestinationSettings, setting: str) -> object:
    """The value of a "<block>.<field>" setting, None while its block is not set."""
    block_name, _, field_name = setting.partition(".")
    block = getattr(settings, block_name)
    return None if block is None else getattr(block, field_name)


def canonical_audience(audience: pl.DataFrame) -> pl.DataFrame:
    """The audience with canonical ids, one row per id: the best-ranked row of a person kept.

    A warehouse older than canonical storage may hold one MAID in two cases; they are the same
    person (shared/CONTRACT.md §1), written once rather than failing the whole export.
    """
    canonical = audience.with_columns(
        pl.col("person_id").map_elements(canonical_person_id, return_dtype=pl.String))
    return canonical.filter(pl.col("rank") == pl.col("rank").min().over("person_id"))


def is_usable_maid(person_id: pl.Expr) -> pl.Expr:
    """A UUID that is not the all-zero id devices report when ad tracking is limited."""
    return person_id.str.contains(MAID_PATTERN) & (person_id.str.to_lowercase() != ZERO_MAID)


def require_all(rows: pl.DataFrame, check: pl.Expr, what: str, destination: str) -> None:
    """Raise unless `check` holds on every row; the message counts the offenders."""
    failing = rows.filter(~check.fill_null(False)).height
    if failing:
        raise ExportValidationError(f"{destination}: {failing} value(s) are not {what}")


def require_unique(values: pl.Series, destination: str) -> None:
    """An id written twice would be counted twice by the platform's match rate."""
    if values.n_unique() != values.len():
        raise ExportValidationError(f"{destination}: {values.len() - values.n_unique()} "
                                    "duplicate id(s) in the audience")


def sha256_hex(values: pl.Series) -> pl.Series:
    """Lower-case hex SHA-256 of each UTF-8 value, computed in bulk by DuckDB."""
    with duckdb.connect() as con:
        con.register("ids", pl.DataFrame({"value": values}).to_arrow())
        hashed = con.execute(read_sql("activation/queries/sha256_values.sql")).pl()
    return hashed["digest"]


def write_single_column_csv(values: pl.Series, header: str, path: Path) -> int:
    """A one-column CSV with `header`; ids never contain separators or quotes, so none appear."""
    pl.DataFrame({header: values}).write_csv(path, quote_style="never")
    return values.len()


def describe_file(destination: str, path: Path, rows: int, kind: str = "full") -> WrittenFile:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return WrittenFile(destination, path.name, rows, path.stat().st_size, digest.hexdigest(),
                       kind)
