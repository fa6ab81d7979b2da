"""The export runs: the list of audiences (`/`), a segment's page and its file downloads."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from portal import audit, charts, exports
from portal.access import DownloadSession, PageSession
from portal.state import Portal
from portal.templating import render

CHUNK_BYTES = 1024 * 1024
TOP_PROFILE_ENTRIES = 8
MEDIA_TYPES = {".csv": "text/csv; charset=utf-8", ".json": "application/json"}

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def list_audiences(request: Request, portal: Portal, current: PageSession) -> HTMLResponse:
    return render(request, "runs.html", current,
                  {"runs": exports.list_runs(portal.home.exports_dir)})


@router.get("/runs/{as_of}/{version_folder}/{segment_name}", response_class=HTMLResponse)
def show_segment(request: Request, portal: Portal, current: PageSession, as_of: str,
                 version_folder: str, segment_name: str) -> HTMLResponse:
    run, segment = _find_segment(portal.home.exports_dir, as_of, version_folder, segment_name)
    drivers = segment.drivers
    themes = [(charts.theme_label(name), share)
              for name, share in segment.profile("themes", "theme")[:TOP_PROFILE_ENTRIES]]
    regions = [(charts.region_label(code), share)
               for code, share in segment.profile("regions", "region")[:TOP_PROFILE_ENTRIES]]
    gains = segment.gains_by_decile
    return render(request, "segment.html", current, {
        "run": run,
        "segment": segment,
        "gains": sorted(gains, key=lambda row: row["decile"]),
        "gains_chart": charts.gains_chart(gains, "Share of interested people reached")
        if gains else None,
        "themes": themes,
        "regions": regions,
        "themes_chart": charts.share_bars(themes, "Top interest themes") if themes else None,
        "regions_chart": charts.share_bars(regions, "Top home regions") if regions else None,
        "drivers": drivers,
        "changes": segment.changes,
        "manifest_text": json.dumps(segment.manifest, indent=2, ensure_ascii=False)
        if segment.manifest is not None else "",
    })


@router.get("/runs/{as_of}/{version_folder}/{segment_name}/download/{destination}/{part}")
def download(portal: Portal, current: DownloadSession, as_of: str, version_folder: str,
             segment_name: str, destination: str, part: str) -> Response:
    run, segment = _find_segment(portal.home.exports_dir, as_of, version_folder, segment_name)
    is_part_number = part.isascii() and part.isdigit()
    export_file = segment.find_file(destination, int(part)) if is_part_number else None
    return _serve(portal, current, run, segment, export_file)


@router.get("/runs/{as_of}/{version_folder}/{segment_name}/changes/{destination}/{kind}")
def download_change(portal: Portal, current: DownloadSession, as_of: str, version_folder: str,
                    segment_name: str, destination: str, kind: str) -> Response:
    """A delta file (who joined, who left), checked and audited like the full files."""
    run, segment = _find_segment(portal.home.exports_dir, as_of, version_folder, segment_name)
    export_file = (segment.find_file(destination, 1, kind)
                   if kind in exports.DELTA_KINDS else None)
    return _serve(portal, current, run, segment, export_file)


def _serve(portal: Portal, current: DownloadSession, run: exports.ExportRun, segment: exports.SegmentExport,
           export_file: exports.ExportFile | None) -> Response:
    # One open handle for hashing and sending, so what is sent is what was checked.
    handle = exports.open_file(segment, export_file) if export_file else None
    if export_file is None or handle is None:
        raise StarletteHTTPException(404)
    audit_log = portal.home.download_audit_log
    try:
        digest, size = _sha256_of(handle)
        logged = {"user": current.user.name, "as_of": run.as_of, "version": run.version,
                  "segment": segment.name, "destination": export_file.destination,
                  "file": export_file.file, "sha256": digest, "size_bytes": size}
        if digest != export_file.sha256:
            audit.record_download(audit_log, outcome="refused",
                                  reason=f"SHA-256 does not match the manifest "
                                         f"({export_file.sha256})", **logged)
            raise StarletteHTTPException(
                409, "This file has changed since it was exported (its checksum does not "
                     "match the manifest), so it was not sent. Please tell the data team.")
        audit.record_download(audit_log, outcome="served", **logged)
        handle.seek(0)
    except BaseException:
        handle.close()
        raise
    download_name = f"{run.as_of}_v{run.version}_{segment.name}_{export_file.file}"
    return StreamingResponse(
        _chunks(handle),
        media_type=MEDIA_TYPES.get(Path(export_file.file).suffix.lower(),
                                   "application/octet-stream"),
        headers={
            "Content-Length": str(size),
            "Content-Disposition": f"attachment; filename*=UTF-8''"
                                   f"{quote(download_name, safe='')}",
            "X-Content-SHA256": digest,
        },
    )


def _find_segment(exports_dir: Path, as_of: str, version_folder: str,
                  segment_name: str) -> tuple[exports.ExportRun, exports.SegmentExport]:
    match = exports.VERSION_FOLDER_PATTERN.match(version_folder)
    if not exports.AS_OF_PATTERN.match(as_of) or not match:
        raise StarletteHTTPException(404)
    run = exports.find_run(exports_dir, as_of, int(match.group(1)))
    segment = run.find_segment(segment_name) if run else None
    if run is None or segment is None:
        raise StarletteHTTPException(404)
    return run, segment


def _sha256_of(handle: BinaryIO) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while chunk := handle.read(CHUNK_BYTES):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    try:
        while chunk := handle.read(CHUNK_BYTES):
            yield chunk
    finally:
        handle.close()
