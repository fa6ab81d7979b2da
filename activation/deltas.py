"""Delta files: who joined and who left a segment's audience at one destination since the
previous export run of the same segment and destination (docs/INTERFACES.md, "Delta files").

The comparison is made on the ids as the platform got them (Exporter.written_ids: lower-cased,
hashed, ...), between the previous run's full file(s), checked against their manifest, and the
audience written now. Persons who left are those in the previous file and not in this one (fell
out of the selection, withdrew consent, moved into the holdout) and those an opt-out took out
of earlier files (marts.pending_removals, recorded by activation/export_rewrite.py), who are in
the next remove file whatever else changed. The Trade Desk keeps a person only for the TTL of
the upload that named them: it gets no delta files, and the manifest says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from activation.export_store import ExportDocumentError, RunFolder, read_manifest
from activation.exporters.base import (
    ExportContext,
    Exporter,
    WrittenFile,
    describe_file,
    entry_kind,
)


@dataclass(frozen=True)
class PreviousUpload:
    """What the previous run of a segment sent to one destination, or why it cannot be used."""

    as_of: date
    version: int
    ids: pl.Series | None  # in the destination's written form; None when unusable
    problem: str | None = None

    def reference(self) -> dict[str, object]:
        return {"as_of": self.as_of.isoformat(), "export_version": self.version}


@dataclass(frozen=True)
class DestinationDelta:
    files: list[WrittenFile]
    entry: dict[str, Any]  # the manifest's delta entry of the destination
    consumed_pending: pl.Series  # pending identifiers the remove file now holds


def earlier_runs(runs: list[RunFolder], as_of: date, version: int) -> list[RunFolder]:
    """The finished runs before (as_of, version), newest first."""
    return [run for run in reversed(runs) if (run.as_of, run.version) < (as_of, version)]


def previous_upload(runs: list[RunFolder], segment: str, exporter: Exporter) -> PreviousUpload | None:
    """The newest earlier run of the segment that wrote this destination's full file(s), read
    and checked; None when the segment was never sent there."""
    for run in runs:
        if not run.has_segment(segment):
            continue
        folder = run.segment_folder(segment)
        try:
            manifest = read_manifest(folder)
        except ExportDocumentError as error:
            return PreviousUpload(run.as_of, run.version, None, f"its manifest {error.reason}")
        withdrawn = [entry for entry in _entries(manifest, "files_withdrawn")
                     if entry.get("destination") == exporter.name and entry_kind(entry) == "full"]
        if withdrawn:
            return PreviousUpload(run.as_of, run.version, None,
                                  "its file was withdrawn after an opt-out")
        entries = [entry for entry in _entries(manifest, "files")
                   if entry.get("destination") == exporter.name and entry_kind(entry) == "full"]
        if entries:
            return _read_upload(run, folder, entries, exporter)
    return None


def _entries(manifest: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = manifest.get(key)
    return [entry for entry in value if isinstance(entry, dict)] if isinstance(value, list) else []


def _read_upload(run: RunFolder, folder: Path, entries: list[dict[str, Any]],
                 exporter: Exporter) -> PreviousUpload:
    parts = []
    for entry in entries:
        name = entry.get("file")
        path = folder / str(name)
        if (not isinstance(name, str) or Path(name).name != name or not path.is_file()
                or describe_file(exporter.name, path, 0).sha256 != entry.get("sha256")):
            return PreviousUpload(run.as_of, run.version, None,
                                  f"its file {name} is missing or not the bytes its manifest lists")
        parts.append(exporter.read_ids(path))
    return PreviousUpload(run.as_of, run.version, pl.concat(parts))


def destination_delta(exporter: Exporter, context: ExportContext, written: pl.Series,
                      rows: pl.DataFrame, previous: PreviousUpload | None, pending: pl.Series,
                      left_because: dict[str, pl.Series], minimum: int,
                      folder: Path) -> DestinationDelta:
    """The add and remove files of one destination and its manifest entry. `written` holds
    the ids of `rows` (the prepared audience) as the full file holds them; `left_because` maps
    a reason to the written ids it explains, checked in order after the opt-outs (`pending`);
    the rest are no longer eligible (consent withdrawn, or no longer scored)."""
    nothing = pl.Series("platform_id", [], dtype=pl.String)
    entry: dict[str, Any] = {"destination": exporter.name, "removal": exporter.removal}
    if previous is None:
        entry["no_delta"] = ("the first export of this segment to this destination: upload the "
                             "full file")
        return DestinationDelta([], entry, nothing)
    entry["against"] = previous.reference()
    if previous.ids is None:
        entry["no_delta"] = (f"the previous upload ({previous.as_of.isoformat()} "
                             f"v{previous.version}) cannot be compared: {previous.problem}; "
                             "upload the full file, replacing the list")
        return DestinationDelta([], entry, nothing)
    joined = ~written.is_in(previous.ids.implode())
    removal_pending = pending if exporter.removal == "upload" else nothing
    left = pl.concat([previous.ids.filter(~previous.ids.is_in(written.implode())),
                      removal_pending.filter(~removal_pending.is_in(written.implode()))]
                     ).unique(maintain_order=True).sort()
    entry.update({"added": int(joined.sum()), "removed": left.len(),
                  "removed_because": _reasons(left, removal_pending, left_because)})
    if exporter.removal == "ttl":
        entry["note"] = (f"{exporter.label} keeps a person only for the TTL of the upload that "
                         "named them: upload the full file on every run to refresh everyone in "
                         "it; a person who left (an opt-out too) is simply not refreshed and "
                         "expires, so there is no add or remove file")
        return DestinationDelta([], entry, nothing)
    files = []
    if entry["added"]:
        files += exporter.write(rows.filter(joined), folder, context, kind="add")
    if left.len():
        files += exporter.write_removals(left, folder, context)
    entry["files"] = {written_file.kind: written_file.file for written_file in files}
    entry["how_to_add"], entry["how_to_remove"] = exporter.how_to_add, exporter.how_to_remove
    small = [f"{kind} file holds {count}" for kind, count in
             (("add", entry["added"]), ("remove", entry["removed"])) if 0 < count < minimum]
    if small:
        entry["below_minimum"] = (
            f"the {' and the '.join(small)}, fewer than the minimum audience of {minimum}: "
            f"written all the same, because they change an audience of {written.len()} "
            "persons (at or above the minimum) already uploaded, and reveal no new audience "
            "on their own")
    return DestinationDelta(files, entry, removal_pending if left.len() else nothing)


def _reasons(left: pl.Series, pending: pl.Series,
             left_because: dict[str, pl.Series]) -> dict[str, int]:
    """How many who left did so for each reason; each person counted once, in order."""
    counts, rest = {}, left
    for reason, ids in {"opted_out": pending, **left_because}.items():
        explained = rest.is_in(ids.implode())
        counts[reason] = int(explained.sum())
        rest = rest.filter(~explained)
    counts["no_longer_eligible"] = rest.len()
    return counts
