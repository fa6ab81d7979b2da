"""Earlier export files after an opt-out (shared/CONTRACT.md §3): rewritten without the persons
who opted out, or withdrawn, and the audit says which.

A segment file still offered for download is a copy of person data, which an erasure covers
too (GDPR Art. 17). After an opt-out run, every file of every finished export run is checked
against the whole suppression list (raw.suppressed_persons: sha256 of canonical ids), so the
opt-out file's raw ids are not needed, and a rerun finishes what a crashed run left undone.
A file's ids are matched the way its exporter wrote them (Exporter.id_form): an id written as
it is or lower-cased by the sha256 of its canonical form, a SHA-256 id as it is.

A file holding such a person is written again in the same format without their rows, into a
hidden file beside it that is then renamed over it; after the segment's files, its manifest
is replaced the same way, with each file's new rows, bytes and sha256 and an `erasures` entry.
A file that cannot be rewritten safely (not a plain regular file, unreadable, or not the bytes
the manifest describes, so that blessing it with a new hash would vouch for unknown content)
is deleted, and its manifest entry moves to `files_withdrawn` with the reason. A crash between
the files and the manifest leaves files that no longer match it: the portal refuses them and
the next opt-out run withdraws any that still hold a suppressed person.

Delta uploads: before a person's rows leave a full or add file of a destination that takes
removal uploads, the ids as that file held them (the platform identifier already sent) are
recorded in marts.pending_removals under the segment and destination, so the next export run
of that segment puts them in its remove file and then deletes them (activation/deltas.py). A
remove file is never rewritten: it holds only identifiers the platform is to delete, and
taking a person out of it would leave them at the platform (docs/contract.md §3).

The caller holds the warehouse writer lock (exports are written under it too).
"""

from __future__ import annotations

import hashlib
import os
import stat
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from activation.export_store import (
    MANIFEST_FILE,
    ExportDocumentError,
    document_text,
    list_runs,
    manifest_path,
    read_manifest,
)
from activation.exporters import EXPORTERS
from activation.exporters.base import describe_file, entry_kind
from core.contract import canonical_person_id
from warehouse.db import open_warehouse
from warehouse.sql_files import read_sql

REWRITE_TEMP_PREFIX = ".tmp-erasure-"
# Told (segment, destination, ids as the file held them) before erased rows leave a file.
ErasedIds = Callable[[str, str, pl.Series], None]


@dataclass(frozen=True)
class ExportFileChange:
    """One export file an opt-out run changed; `export_file` is relative to the exports folder."""

    export_file: str
    destination: str
    action: str  # "rewritten" or "withdrawn"
    rows_removed: int
    reason: str | None = None


def remove_persons_from_exports(warehouse_path: str | os.PathLike[str],
                                exports_dir: str | os.PathLike[str], optout_run_id: str,
                                at: datetime | None = None) -> list[ExportFileChange]:
    """Rewrite or withdraw every earlier export file holding a suppressed person, and record
    each change in audit.optout_export_files under the opt-out run."""
    exports_dir = Path(exports_dir)
    at = at or datetime.now(UTC)
    with open_warehouse(warehouse_path) as con:
        suppressed = {row[0] for row in con.execute(
            "select person_key from raw.suppressed_persons").fetchall()}
        changes: list[ExportFileChange] = []

        def keep_for_removal(segment: str, destination: str, ids: pl.Series) -> None:
            _record_pending_removals(con, segment, destination, ids, optout_run_id, at)

        if suppressed and exports_dir.is_dir():
            for folder in segment_folders(exports_dir):
                remove_rewrite_leftovers(folder)
                changes += rewrite_segment(folder, exports_dir, suppressed, optout_run_id, at,
                                           keep_for_removal)
        _record(con, changes, optout_run_id, at)
    return changes


def _record_pending_removals(con, segment: str, destination: str, ids: pl.Series,
                             optout_run_id: str, at: datetime) -> None:
    """Committed before the file is rewritten, so a crash in between loses no identifier."""
    if EXPORTERS[destination].removal != "upload" or ids.is_empty():
        return
    con.register("erased_platform_ids", ids.cast(pl.String).to_frame("platform_id").select(
        pl.lit(segment).alias("segment_name"), pl.lit(destination).alias("destination"),
        "platform_id").to_arrow())
    try:
        con.execute(read_sql("activation/queries/insert_pending_removals.sql"),
                    {"optout_run_id": optout_run_id, "recorded_at": at})
    finally:
        con.unregister("erased_platform_ids")


def segment_folders(exports_dir: Path) -> list[Path]:
    """Every segment folder of every finished export run."""
    return [folder for run in list_runs(exports_dir) for folder in run.segment_folders()]


def remove_rewrite_leftovers(segment_folder: Path) -> None:
    """Delete hidden files a crashed rewrite left: they hold person ids."""
    for leftover in segment_folder.glob(f"{REWRITE_TEMP_PREFIX}*"):
        leftover.unlink(missing_ok=True)


def rewrite_segment(folder: Path, exports_dir: Path, suppressed: set[str], optout_run_id: str,
                    at: datetime, on_erased: ErasedIds | None = None) -> list[ExportFileChange]:
    """Rewrite or withdraw the segment's files that hold a suppressed person, then its manifest."""
    manifest = _read_manifest(folder)
    if manifest is None:
        return _withdraw_unlisted(folder, exports_dir)
    kept_entries: list[dict[str, Any]] = []
    withdrawn: list[dict[str, Any]] = []
    changes: list[ExportFileChange] = []
    for entry in manifest.get("files", []):
        outcome = _rewrite_file(folder, entry, suppressed, on_erased)
        if outcome.action == "withdrawn":
            withdrawn.append({**entry, "withdrawn": True, "reason": outcome.reason,
                              "optout_run_id": optout_run_id, "at": _timestamp(at)})
        else:
            kept_entries.append(outcome.entry)
        if outcome.action is not None:
            export_file = (folder / str(entry.get("file"))).relative_to(exports_dir).as_posix()
            changes.append(ExportFileChange(export_file, str(entry.get("destination")),
                                            outcome.action, outcome.rows_removed, outcome.reason))
    if not changes:
        return []
    manifest["files"] = kept_entries
    if withdrawn:
        manifest["files_withdrawn"] = manifest.get("files_withdrawn", []) + withdrawn
    manifest["erasures"] = manifest.get("erasures", []) + [{
        "optout_run_id": optout_run_id, "at": _timestamp(at),
        "rows_removed": sum(change.rows_removed for change in changes),
        "files_rewritten": [Path(c.export_file).name for c in changes if c.action == "rewritten"],
        "files_withdrawn": [Path(c.export_file).name for c in changes if c.action == "withdrawn"],
    }]
    # After the files: a crash in between leaves files the manifest does not describe, which
    # the portal refuses to serve.
    _replace_file(manifest_path(folder), document_text(manifest).encode("utf-8"))
    return changes


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest, or None when it is not a JSON object listing files."""
    try:
        manifest = read_manifest(folder)
    except ExportDocumentError:
        return None
    return manifest if isinstance(manifest.get("files"), list) else None


def _withdraw_unlisted(folder: Path, exports_dir: Path) -> list[ExportFileChange]:
    """A segment whose manifest cannot be read: the portal serves none of its files, and what
    they hold cannot be checked, so each is deleted."""
    reason = "the segment's manifest cannot be read, so its files cannot be checked"
    changes = []
    for path in sorted(folder.iterdir()):
        if path.name == MANIFEST_FILE or (path.is_dir() and not path.is_symlink()):
            continue
        path.unlink(missing_ok=True)
        changes.append(ExportFileChange(path.relative_to(exports_dir).as_posix(), "unknown",
                                        "withdrawn", 0, reason))
    return changes


def erased_ids(ids: pl.Series, id_form: str, suppressed: set[str]) -> pl.Series:
    """True for each id (written in `id_form`) of a person on the suppression list."""
    if id_form == "sha256_lower":
        return ids.is_in(list(suppressed))
    # The suppression key is sha256 of the canonical id; a key made before canonical ids
    # existed hashed the id as it was given, so that form is checked too.
    return pl.Series([_sha256(canonical_person_id(value)) in suppressed
                      or _sha256(value) in suppressed for value in ids], dtype=pl.Boolean)


@dataclass(frozen=True)
class _FileOutcome:
    action: str | None  # None (untouched), "rewritten" or "withdrawn"
    entry: dict[str, Any]  # the file's manifest entry afterwards
    rows_removed: int = 0
    reason: str | None = None


def _rewrite_file(folder: Path, entry: dict[str, Any], suppressed: set[str],
                  on_erased: ErasedIds | None = None) -> _FileOutcome:
    name, destination = entry.get("file"), entry.get("destination")
    if entry_kind(entry) == "remove":
        return _FileOutcome(None, entry)  # the platform's notice to delete them: kept
    if not isinstance(name, str) or Path(name).name != name or name.startswith("."):
        return _FileOutcome("withdrawn", entry, 0,
                            "the manifest names no plain file of the segment folder")
    path = folder / name
    if not os.path.lexists(path):
        return _FileOutcome(None, entry)  # nothing to rewrite; the portal says it is missing
    exporter = EXPORTERS.get(destination) if isinstance(destination, str) else None
    reason = _unsafe_reason(path, destination, exporter)
    if reason is None:
        try:
            ids = exporter().read_ids(path)
        except (OSError, ValueError, KeyError, TypeError, pl.exceptions.PolarsError):
            reason = f"it cannot be read as a {destination} file"
    if reason is not None:
        return _withdraw(path, entry, reason)
    erased = erased_ids(ids, exporter.id_form, suppressed)
    removed = int(erased.sum())
    if removed == 0:
        return _FileOutcome(None, entry)
    if on_erased is not None:
        on_erased(folder.name, destination, ids.filter(erased))
    if describe_file(destination, path, 0).sha256 != entry.get("sha256"):
        return _withdraw(path, entry, "its bytes are not the ones the export wrote (its SHA-256 "
                                      "is not the manifest's), so it cannot be rewritten safely")
    temp = folder / f"{REWRITE_TEMP_PREFIX}{name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        rows = exporter().write_kept_rows(path, ~erased, temp)
        _sync(temp)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    written = describe_file(destination, path, rows)
    return _FileOutcome("rewritten", {**entry, **written.as_manifest()}, removed)


def _unsafe_reason(path: Path, destination: object, exporter) -> str | None:
    """Why a file may not be read and rewritten in place, or None."""
    if exporter is None:
        return f"its destination {destination!r} is not one Norrut writes: its format is unknown"
    info = path.lstat()
    if not stat.S_ISREG(info.st_mode):
        return "it is not a regular file (a symbolic link or another kind)"
    if info.st_nlink > 1:
        # A rewrite would replace this name only; the other name would keep the persons.
        return "it has other hard links"
    return None


def _withdraw(path: Path, entry: dict[str, Any], reason: str) -> _FileOutcome:
    """Delete the file (a link, not its target); all its rows leave the download."""
    path.unlink(missing_ok=True)
    rows = entry.get("rows")
    return _FileOutcome("withdrawn", entry, rows if isinstance(rows, int) else 0, reason)


def _record(con, changes: list[ExportFileChange], optout_run_id: str, at: datetime) -> None:
    con.execute("begin transaction")
    try:
        for change in changes:
            con.execute(read_sql("queries/insert_optout_export_file.sql"), {
                "run_id": optout_run_id, "export_file": change.export_file,
                "destination": change.destination, "action": change.action,
                "rows_removed": change.rows_removed, "reason": change.reason,
                "changed_at": at})
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def _replace_file(path: Path, data: bytes) -> None:
    temp = path.with_name(f"{REWRITE_TEMP_PREFIX}{path.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        temp.write_bytes(data)
        _sync(temp)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _sync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _timestamp(at: datetime) -> str:
    return at.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
