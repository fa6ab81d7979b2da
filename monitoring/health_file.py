"""The latest model health as a file: `<home>/monitoring/health.json`, written by the monitor job
and read by the portal's "Model health" page (which never opens the warehouse). It holds
aggregates only (deciles, rates, stability indices), never a person."""

from __future__ import annotations

import json
import os
from pathlib import Path

from monitoring.report import HealthReport


def write_health(path: Path, report: HealthReport) -> Path:
    """Write the report beside its place and rename it in, so a reader never sees half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(report.model_dump_json(indent=1) + "\n", encoding="utf-8")
    partial.replace(path)
    return path


def read_health(path: Path) -> HealthReport | None:
    """The latest report; None when the monitor has not run (or the file cannot be read)."""
    try:
        return HealthReport.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None
