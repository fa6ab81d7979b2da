"""The exports folder: its layout, names and documents, in this one place (docs/INTERFACES.md).

    <exports_dir>/<as_of YYYY-MM-DD>/v<N>/run.json            one export run
    <exports_dir>/<as_of>/v<N>/<segment>/manifest.json        one written segment, beside its
                                                              destinations' files
    <exports_dir>/lift/<campaign>.json                        a campaign's measured lift
    <exports_dir>/.tmp-export-<as_of>-<pid>-<random>/         a run still being written

Export runs write it (activation/export_run.py), lift reads runs and writes lift files
(activation/lift.py), an opt-out rewrites files and manifests (activation/export_rewrite.py) and
the portal reads it all (portal/exports.py, portal/lift.py). Readers see only plain folders (not
links, not hidden) whose names match the patterns here; a run being written is hidden until
renamed into place, so no reader sees half of one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

RUN_FILE = "run.json"
MANIFEST_FILE = "manifest.json"
LIFT_FOLDER = "lift"
TEMP_RUN_PREFIX = ".tmp-export-"
# `\Z`, not `$`: `$` also matches before a trailing newline.
AS_OF_FOLDER_PATTERN = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
# At most six digits: the portal matches request paths with it before turning them into numbers.
VERSION_FOLDER_PATTERN = re.compile(r"^v([1-9][0-9]{0,5})\Z")
_TEMP_RUN_OWNER = re.compile(r"-(\d+)-[0-9a-f]{8}\Z")


class ExportDocumentError(ValueError):
    """A run.json or manifest.json that is missing, cannot be read or is not a JSON object."""

    def __init__(self, path: Path, reason: str, missing: bool = False) -> None:
        super().__init__(f"{path.name} {reason}")
        self.path = path
        self.reason = reason
        self.missing = missing


@dataclass(frozen=True)
class RunFolder:
    """One finished export run's folder: <exports_dir>/<as_of>/v<version>."""

    as_of: date
    version: int
    folder: Path

    def segment_folder(self, segment: str) -> Path:
        return segment_folder_in(self.folder, segment)

    def segment_folders(self) -> list[Path]:
        """The folders of the segments this run wrote, by name."""
        return plain_subfolders(self.folder)

    def has_segment(self, segment: str) -> bool:
        return manifest_path(self.segment_folder(segment)).is_file()


def version_folder_name(version: int) -> str:
    return f"v{version}"


def parse_version_folder(name: str) -> int | None:
    """N of a `v<N>` folder name, or None when the name is not one."""
    match = VERSION_FOLDER_PATTERN.match(name)
    return int(match.group(1)) if match else None


def parse_as_of_folder(name: str) -> date | None:
    """The date of a `YYYY-MM-DD` folder name, or None when the name is not a date."""
    if not AS_OF_FOLDER_PATTERN.match(name):
        return None
    try:
        return date.fromisoformat(name)
    except ValueError:
        return None


def run_folder(exports_dir: Path, as_of: date, version: int) -> Path:
    return exports_dir / as_of.isoformat() / version_folder_name(version)


def segment_folder_in(run_folder_path: Path, segment: str) -> Path:
    return run_folder_path / segment


def segment_folder(exports_dir: Path, as_of: date, version: int, segment: str) -> Path:
    return segment_folder_in(run_folder(exports_dir, as_of, version), segment)


def run_info_path(run_folder_path: Path) -> Path:
    return run_folder_path / RUN_FILE


def manifest_path(segment_folder_path: Path) -> Path:
    return segment_folder_path / MANIFEST_FILE


def list_runs(exports_dir: Path) -> list[RunFolder]:
    """Every finished export run, oldest as-of date and version first."""
    runs = []
    for date_folder in plain_subfolders(exports_dir):
        as_of = parse_as_of_folder(date_folder.name)
        if as_of is None:
            continue
        for version_folder in plain_subfolders(date_folder):
            version = parse_version_folder(version_folder.name)
            if version is not None:
                runs.append(RunFolder(as_of, version, version_folder))
    return sorted(runs, key=lambda run: (run.as_of, run.version))


def find_run(exports_dir: Path, as_of: date, version: int) -> RunFolder | None:
    """The run of that date and version, found in the listing (nothing is joined into a path)."""
    for run in list_runs(exports_dir):
        if run.as_of == as_of and run.version == version:
            return run
    return None


def versions_with_segment(exports_dir: Path, segment: str, as_of: date) -> list[int]:
    """Versions of the as-of date, ascending, whose run wrote the segment (has its manifest)."""
    return [run.version for run in list_runs(exports_dir)
            if run.as_of == as_of and run.has_segment(segment)]


def newest_version_with_segment(exports_dir: Path, segment: str, as_of: date) -> int | None:
    versions = versions_with_segment(exports_dir, segment, as_of)
    return versions[-1] if versions else None


def next_version(exports_dir: Path, as_of: date) -> int:
    """One more than the highest v<N> of the as-of date.

    Any entry of that name counts, a file or a link too: a new run must not take its name.
    """
    date_folder = exports_dir / as_of.isoformat()
    if not date_folder.is_dir():
        return 1
    numbers = [version for child in date_folder.iterdir()
               if (version := parse_version_folder(child.name)) is not None]
    return max(numbers, default=0) + 1


def plain_subfolders(folder: Path) -> list[Path]:
    """Sub-folders by name, leaving out links and hidden ones (runs still being written)."""
    if not folder.is_dir():
        return []
    return sorted(entry for entry in folder.iterdir()
                  if entry.is_dir() and not entry.is_symlink() and not entry.name.startswith("."))


def document_text(document: dict[str, Any]) -> str:
    """How run.json and the manifests are written (an erasure rewrites them alike)."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write_run_info(run_folder_path: Path, document: dict[str, Any]) -> None:
    run_info_path(run_folder_path).write_text(document_text(document), encoding="utf-8")


def write_manifest(segment_folder_path: Path, document: dict[str, Any]) -> None:
    manifest_path(segment_folder_path).write_text(document_text(document), encoding="utf-8")


def read_run_info(run_folder_path: Path) -> dict[str, Any]:
    """The run's run.json; raises ExportDocumentError saying why it cannot be had."""
    return _read_document(run_info_path(run_folder_path))


def read_manifest(segment_folder_path: Path) -> dict[str, Any]:
    """The segment's manifest.json; raises ExportDocumentError saying why it cannot be had."""
    return _read_document(manifest_path(segment_folder_path))


def _read_document(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ExportDocumentError(path, "is missing", missing=True)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ExportDocumentError(path, f"cannot be read: {error}") from error
    if not isinstance(document, dict):
        raise ExportDocumentError(path, "is not a JSON object")
    return document


def lift_folder(exports_dir: Path) -> Path:
    return exports_dir / LIFT_FOLDER


def lift_file_path(exports_dir: Path, campaign: str) -> Path:
    return lift_folder(exports_dir) / f"{campaign}.json"


def lift_files(exports_dir: Path) -> list[Path]:
    """Every lift file by name, leaving out hidden ones (a lift file being written)."""
    folder = lift_folder(exports_dir)
    if not folder.is_dir():
        return []
    return [path for path in sorted(folder.glob("*.json"))
            if path.is_file() and not path.name.startswith(".")]


def new_temp_run_folder(exports_dir: Path, as_of: date) -> Path:
    """A hidden folder to write a run into; its name holds this process's id, so a folder whose
    process is gone is known to be abandoned."""
    name = f"{TEMP_RUN_PREFIX}{as_of.isoformat()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    temp = exports_dir / name
    temp.mkdir()
    return temp


def remove_abandoned_temp_folders(exports_dir: Path) -> list[Path]:
    """Delete temporary folders left by runs that were killed (their process is gone)."""
    import psutil

    removed = []
    for child in exports_dir.glob(f"{TEMP_RUN_PREFIX}*"):
        match = _TEMP_RUN_OWNER.search(child.name)
        if match and psutil.pid_exists(int(match.group(1))):
            continue  # a run still in progress
        shutil.rmtree(child, ignore_errors=True)
        removed.append(child)
    return removed


def publish_run_folder(temp: Path, exports_dir: Path, as_of: date, version: int) -> Path:
    """Rename the finished folder to <as_of>/v<version>; an existing version is never replaced."""
    target = run_folder(exports_dir, as_of, version)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Exports hold the warehouse's single writer connection, so two runs cannot race here;
    # a folder that appeared anyway was made by hand, and is left alone.
    if target.exists():
        raise FileExistsError(f"{target} appeared while this export ran; run the export again")
    os.rename(temp, target)
    return target
