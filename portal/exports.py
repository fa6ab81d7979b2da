"""Reads export runs (docs/INTERFACES.md "Export folders → portal") without ever writing; the
folder layout and the reading of run.json and manifests are activation/export_store.py's.

Folder and file names are only ever taken from the file system listing and the manifests;
names from a request are compared against them, never joined into a path.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from activation import export_store

# The routes match a request's as-of date and version folder with these before looking them up.
AS_OF_PATTERN = export_store.AS_OF_FOLDER_PATTERN
VERSION_FOLDER_PATTERN = export_store.VERSION_FOLDER_PATTERN
SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")
# A manifest's file kinds besides the full files (activation/exporters/base.py FILE_KINDS).
DELTA_KINDS = ("add", "remove")


@dataclass(frozen=True)
class ExportFile:
    destination: str
    file: str
    part: int
    rows: int | None
    bytes: int | None
    sha256: str
    kind: str = "full"


@dataclass(frozen=True)
class DestinationChange:
    """What changed at one destination since the previous upload (the manifest's delta entry)."""

    destination: str
    added: int | None
    removed: int | None
    removed_because: dict[str, int]
    add_file: ExportFile | None
    remove_file: ExportFile | None
    how_to_add: str
    how_to_remove: str
    note: str  # why there is no delta, how a TTL platform drops people, or why a small one is sent


@dataclass(frozen=True)
class Changes:
    against: str  # "<as_of> export <N>", empty for a first export
    note: str
    destinations: list[DestinationChange]


@dataclass
class SegmentExport:
    name: str
    folder: Path
    manifest: dict[str, Any] | None
    problem: str | None = None
    files: list[ExportFile] = field(default_factory=list)
    file_problems: list[str] = field(default_factory=list)

    @property
    def description(self) -> str:
        return str(_get(self.manifest, "segment", "description") or "")

    @property
    def audience(self) -> dict[str, Any]:
        value = _get(self.manifest, "audience")
        return value if isinstance(value, dict) else {}

    @property
    def model(self) -> dict[str, Any]:
        value = _get(self.manifest, "model")
        return value if isinstance(value, dict) else {}

    @property
    def test_metrics(self) -> dict[str, Any]:
        value = self.model.get("test_metrics")
        return value if isinstance(value, dict) else {}

    @property
    def created_at(self) -> str:
        return str(_get(self.manifest, "created_at") or "")

    @property
    def destinations_skipped(self) -> list[dict[str, str]]:
        return _reasons(_get(self.manifest, "destinations_skipped"), "destination")

    @property
    def gains_by_decile(self) -> list[dict[str, float]]:
        rows = _get(self.manifest, "gains_by_decile")
        if not isinstance(rows, list):
            return []
        return [row for row in rows if isinstance(row, dict) and _is_number(row.get("decile"))
                and _is_number(row.get("cumulative_gain"))]

    @property
    def erasures(self) -> list[dict[str, Any]]:
        """Rewrites of this segment's files after opt-outs (activation/export_rewrite.py)."""
        entries = _get(self.manifest, "erasures")
        if not isinstance(entries, list):
            return []
        return [{"at": str(entry.get("at") or ""),
                 "rows_removed": entry.get("rows_removed"),
                 "files_rewritten": _names(entry.get("files_rewritten")),
                 "files_withdrawn": _names(entry.get("files_withdrawn"))}
                for entry in entries if isinstance(entry, dict)]

    @property
    def files_withdrawn(self) -> list[dict[str, str]]:
        """Files taken out of download after an opt-out; they are not in `files`."""
        entries = _get(self.manifest, "files_withdrawn")
        if not isinstance(entries, list):
            return []
        return [{key: str(entry.get(key) or "") for key in ("destination", "file", "reason", "at")}
                for entry in entries if isinstance(entry, dict)]

    def profile(self, kind: str, key: str) -> list[tuple[str, float]]:
        """`kind` is "themes" or "regions"; pairs of (name, share) largest first."""
        entries = _get(self.manifest, "interest_profile", kind)
        if not isinstance(entries, list):
            return []
        pairs = [(str(entry[key]), float(entry["share"])) for entry in entries
                 if isinstance(entry, dict) and key in entry and _is_number(entry.get("share"))]
        return sorted(pairs, key=lambda pair: pair[1], reverse=True)

    @property
    def full_files(self) -> list[ExportFile]:
        return [export_file for export_file in self.files if export_file.kind == "full"]

    @property
    def drivers(self) -> list[dict[str, Any]]:
        """Why this audience: the features that most raise its members' scores, in words."""
        entries = _get(self.manifest, "drivers", "features")
        if not isinstance(entries, list):
            return []
        return [entry for entry in entries if isinstance(entry, dict)
                and isinstance(entry.get("words"), str)
                and _is_number(entry.get("contribution_raised_by"))]

    @property
    def drivers_unavailable(self) -> str:
        return str(_get(self.manifest, "drivers", "unavailable") or "")

    @property
    def changes(self) -> Changes | None:
        """What changed since the last upload, or None for a manifest without deltas."""
        delta = _get(self.manifest, "delta")
        if not isinstance(delta, dict):
            return None
        against = delta.get("against")
        label = (f"{against.get('as_of')} export {against.get('export_version')}"
                 if isinstance(against, dict) else "")
        entries = delta.get("destinations")
        destinations = [self._change(entry) for entry in entries
                        if isinstance(entry, dict)] if isinstance(entries, list) else []
        return Changes(label, str(delta.get("note") or ""), destinations)

    def _change(self, entry: dict[str, Any]) -> DestinationChange:
        destination = str(entry.get("destination") or "")
        because = entry.get("removed_because")
        note = " ".join(str(entry[key]) for key in ("no_delta", "note", "below_minimum")
                        if isinstance(entry.get(key), str))
        return DestinationChange(
            destination=destination,
            added=entry["added"] if isinstance(entry.get("added"), int) else None,
            removed=entry["removed"] if isinstance(entry.get("removed"), int) else None,
            removed_because={str(reason): count for reason, count in because.items()
                             if isinstance(count, int) and count} if isinstance(because, dict)
            else {},
            add_file=self.find_file(destination, 1, "add"),
            remove_file=self.find_file(destination, 1, "remove"),
            how_to_add=str(entry.get("how_to_add") or ""),
            how_to_remove=str(entry.get("how_to_remove") or ""),
            note=note)

    def part_count(self, destination: str) -> int:
        """How many files a destination was split into (The Trade Desk caps each at 2.5 MB)."""
        return sum(1 for export_file in self.full_files if export_file.destination == destination)

    def find_file(self, destination: str, part: int, kind: str = "full") -> ExportFile | None:
        for export_file in self.files:
            if (export_file.destination == destination and export_file.part == part
                    and export_file.kind == kind):
                return export_file
        return None


@dataclass
class ExportRun:
    as_of: str
    version: int
    folder: Path
    run_info: dict[str, Any] | None
    problem: str | None
    segments: list[SegmentExport]

    @property
    def created_at(self) -> str:
        return str(_get(self.run_info, "created_at") or "")

    @property
    def model(self) -> dict[str, Any]:
        value = _get(self.run_info, "model")
        return value if isinstance(value, dict) else {}

    @property
    def segments_skipped(self) -> list[dict[str, str]]:
        return _reasons(_get(self.run_info, "segments_skipped"), "segment")

    def find_segment(self, name: str) -> SegmentExport | None:
        for segment in self.segments:
            if segment.name == name:
                return segment
        return None


def list_runs(exports_dir: Path) -> list[ExportRun]:
    """Every finished export run, newest as-of date and version first."""
    return [_read_run(run) for run in reversed(export_store.list_runs(exports_dir))]


def find_run(exports_dir: Path, as_of: str, version: int) -> ExportRun | None:
    day = export_store.parse_as_of_folder(as_of)
    run = None if day is None else export_store.find_run(exports_dir, day, version)
    return None if run is None else _read_run(run)


def resolve_file(segment: SegmentExport, export_file: ExportFile) -> Path | None:
    """The file's path if it is a regular file directly inside the segment folder.

    Not a symlink, and not a hard link either: a file with more than one link may be the
    same inode as a file outside the exports tree, so it is refused the same way.
    """
    for entry in segment.folder.iterdir():
        if entry.name == export_file.file:
            path = entry.resolve()
            if path.parent == segment.folder.resolve() and _is_single_link_file(path.lstat()):
                return path
    return None


def open_file(segment: SegmentExport, export_file: ExportFile) -> BinaryIO | None:
    """The file opened for reading, if `resolve_file` accepts it and it is still that file."""
    path = resolve_file(segment, export_file)
    if path is None:
        return None
    try:
        # O_NOFOLLOW and O_NONBLOCK: a link or a FIFO swapped in since the check is not opened
        # or waited on; fstat then checks what was actually opened.
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    if not _is_single_link_file(os.fstat(descriptor)):
        os.close(descriptor)
        return None
    return os.fdopen(descriptor, "rb")


def _is_single_link_file(status: os.stat_result) -> bool:
    return stat.S_ISREG(status.st_mode) and status.st_nlink == 1


def _read_run(run: export_store.RunFolder) -> ExportRun:
    run_info, problem = _read_document(export_store.read_run_info, run.folder)
    segments = [_read_segment(segment_folder) for segment_folder in run.segment_folders()]
    written = _get(run_info, "segments_written")
    if isinstance(written, list):
        present = {segment.name for segment in segments}
        missing = [str(name) for name in written if str(name) not in present]
        if missing:
            problem = "; ".join(filter(None, [problem, "segment folders missing: "
                                                        + ", ".join(missing)]))
    return ExportRun(run.as_of.isoformat(), run.version, run.folder, run_info, problem,
                     sorted(segments, key=lambda segment: segment.name))


def _read_segment(folder: Path) -> SegmentExport:
    manifest, problem = _read_document(export_store.read_manifest, folder)
    segment = SegmentExport(name=folder.name, folder=folder, manifest=manifest, problem=problem)
    if manifest is None:
        return segment
    entries = manifest.get("files")
    if not isinstance(entries, list):
        segment.file_problems.append("the manifest lists no files")
        return segment
    parts_seen: dict[tuple[str, str], int] = {}
    for entry in entries:
        export_file = _parse_file_entry(entry, parts_seen)
        if isinstance(export_file, ExportFile):
            segment.files.append(export_file)
        else:
            segment.file_problems.append(export_file)
    return segment


def _parse_file_entry(entry: Any, parts_seen: dict[tuple[str, str], int]) -> ExportFile | str:
    if not isinstance(entry, dict):
        return "a file entry in the manifest is not an object"
    destination, name, sha256 = entry.get("destination"), entry.get("file"), entry.get("sha256")
    if not isinstance(destination, str) or not destination:
        return f"file entry {name!r} has no destination"
    if not _is_plain_file_name(name):
        return f"file entry for {destination} has an unusable file name {name!r}"
    if not isinstance(sha256, str) or not SHA256_PATTERN.match(sha256.lower()):
        return f"file {name} has no valid SHA-256 in the manifest"
    kind = entry.get("kind", "full")
    if kind not in ("full", *DELTA_KINDS):
        return f"file {name} has an unknown kind {kind!r}"
    parts_seen[(destination, kind)] = parts_seen.get((destination, kind), 0) + 1
    return ExportFile(
        destination=destination,
        file=name,
        part=parts_seen[(destination, kind)],
        rows=entry["rows"] if isinstance(entry.get("rows"), int) else None,
        bytes=entry["bytes"] if isinstance(entry.get("bytes"), int) else None,
        sha256=sha256.lower(),
        kind=kind,
    )


def _is_plain_file_name(name: Any) -> bool:
    return (isinstance(name, str) and name not in ("", ".", "..") and not name.startswith(".")
            and "/" not in name and "\\" not in name and "\x00" not in name)


def _read_document(read: Callable[[Path], dict[str, Any]],
                   folder: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The document `read` reads from `folder`, or None and what is wrong with it."""
    try:
        return read(folder), None
    except export_store.ExportDocumentError as error:
        return None, str(error)


def _reasons(value: Any, key: str) -> list[dict[str, str]]:
    if not isinstance(value, list):
        return []
    return [{key: str(item.get(key, "?")), "reason": str(item.get("reason", ""))}
            for item in value if isinstance(item, dict)]


def _names(value: Any) -> list[str]:
    return [str(name) for name in value] if isinstance(value, list) else []


def _get(document: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(document, dict):
            return None
        document = document.get(key)
    return document


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
