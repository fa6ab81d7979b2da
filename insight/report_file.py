"""The creative report as a file for the portal: `<exports_dir>/creatives/<as_of>.json`.

`norrut creatives` stores the report in the warehouse (marts.creative_report, with its run in
marts.creative_report_runs) and writes the same rows here, so the portal's "What works" page
never opens the warehouse: a reader would stop a flow from opening it for writing. Only
aggregates, no person id. Written beside its place and renamed into it, so a reader never sees
half a file.

`{"creatives_version": 1, "run": {<the marts.creative_report_runs row; dates ISO 8601>},
"rows": [{<REPORT_COLUMNS>}, ...]}`
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import polars as pl

CREATIVES_VERSION = 1
REPORT_FOLDER = "creatives"
# The rows of the report (and of the CSV download), in this order (docs/INTERFACES.md).
REPORT_SCHEMA = {
    "as_of_date": pl.Date, "dimension": pl.String, "item_id": pl.String, "title": pl.String,
    "kind": pl.String, "is_ranked": pl.Boolean, "rank": pl.Int32, "n_shown": pl.Int64,
    "n_engaged": pl.Int64, "n_engaged_with_intent": pl.Int64, "n_not_engaged": pl.Int64,
    "n_not_engaged_with_intent": pl.Int64, "engaged_intent_rate": pl.Float64,
    "not_engaged_intent_rate": pl.Float64, "raw_difference": pl.Float64,
    "n_engaged_matched": pl.Int64, "n_not_engaged_matched": pl.Int64,
    "matched_engaged_intent_rate": pl.Float64, "matched_comparison_intent_rate": pl.Float64,
    "adjusted_difference": pl.Float64, "adjusted_difference_se": pl.Float64,
    "ci_low": pl.Float64, "ci_high": pl.Float64,
}
REPORT_COLUMNS = tuple(REPORT_SCHEMA)
RUN_DATES = ("as_of_date", "exposure_start", "outcome_start")


@dataclass(frozen=True)
class StoredReport:
    """A stored report: how it was made (a marts.creative_report_runs row) and its rows."""

    run: dict
    rows: pl.DataFrame

    def of(self, dimension: str) -> pl.DataFrame:
        return self.rows.filter(pl.col("dimension") == dimension)


def report_file_path(exports_dir: Path, as_of: date) -> Path:
    return Path(exports_dir) / REPORT_FOLDER / f"{as_of.isoformat()}.json"


def write_report_file(exports_dir: Path, report: StoredReport) -> Path:
    """Write the report's file (replacing that date's); returns its path."""
    path = report_file_path(exports_dir, report.run["as_of_date"])
    path.parent.mkdir(parents=True, exist_ok=True)
    run = {key: value.isoformat() if isinstance(value, date | datetime) else value
           for key, value in report.run.items()}
    document = {"creatives_version": CREATIVES_VERSION, "run": run,
                "rows": json.loads(report.rows.select(REPORT_COLUMNS).write_json())}
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        partial.write_text(json.dumps(document, ensure_ascii=False) + "\n", encoding="utf-8")
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def read_report_file(path: Path) -> StoredReport:
    """A report file read back; ValueError (or OSError) when it is not one."""
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(document, dict) or document.get("creatives_version") != CREATIVES_VERSION:
        raise ValueError(f"{Path(path).name} is not a creative report of version "
                         f"{CREATIVES_VERSION}")
    run = dict(document["run"])
    for key in RUN_DATES:
        run[key] = date.fromisoformat(run[key])
    rows = pl.DataFrame(document["rows"], schema={
        name: pl.String if dtype == pl.Date else dtype for name, dtype in REPORT_SCHEMA.items()},
    )
    return StoredReport(run, rows.with_columns(pl.col("as_of_date").str.to_date()))


def newest_report_file(exports_dir: Path) -> Path | None:
    """The newest report's file (file names are dates), leaving out files being written."""
    folder = Path(exports_dir) / REPORT_FOLDER
    if not folder.is_dir():
        return None
    files = [path for path in sorted(folder.glob("*.json"))
             if path.is_file() and not path.name.startswith(".")]
    return files[-1] if files else None
