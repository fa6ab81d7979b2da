"""The download audit log: one JSON object per line, appended, never rewritten."""

from __future__ import annotations

import json
import os
import threading
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_append_lock = threading.Lock()


def record_download(log_path: Path, *, user: str, as_of: str, version: int, segment: str,
                    destination: str, file: str, sha256: str, size_bytes: int,
                    outcome: str, reason: str | None = None) -> dict[str, Any]:
    """Append one entry; `outcome` is "served" or "refused"."""
    entry: dict[str, Any] = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "user": user,
        "as_of": as_of,
        "version": version,
        "segment": segment,
        "destination": destination,
        "file": file,
        "sha256": sha256,
        "bytes": size_bytes,
        "outcome": outcome,
    }
    if reason:
        entry["reason"] = reason
    line = json.dumps(entry, sort_keys=True) + "\n"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with _append_lock:
        descriptor = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(descriptor, line.encode("utf-8"))
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    return entry


def read_entries(log_path: Path, limit: int = 1000) -> tuple[list[dict[str, Any]], int]:
    """The newest `limit` entries, newest first, and the count of unreadable lines."""
    if not log_path.exists():
        return [], 0
    # Only the newest `limit` are kept while reading: the log grows by a line a download.
    entries: deque[dict[str, Any]] = deque(maxlen=limit)
    unreadable = 0
    with log_path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                unreadable += 1
                continue
            if isinstance(entry, dict):
                entries.append(entry)
            else:
                unreadable += 1
    return list(reversed(entries)), unreadable
