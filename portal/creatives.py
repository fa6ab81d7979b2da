"""The creative report as the "What works" page shows it and its CSV download gives it: the
newest `<exports_dir>/creatives/<as_of>.json` that `norrut creatives` wrote
(insight/report_file.py). Like every page, it never opens the warehouse."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from insight.creatives import DIMENSIONS
from insight.report_file import (
    REPORT_COLUMNS,
    StoredReport,
    newest_report_file,
    read_report_file,
)
from portal.charts import difference_bars, theme_label

# The chart shows the best-ranked items; the table shows them all.
CHART_ITEMS = 12


@dataclass(frozen=True)
class WhatWorks:
    """The page's content: the report (None when none was made) or why it cannot be read."""

    report: StoredReport | None
    problem: str | None = None

    def sections(self) -> list[dict]:
        """Per dimension: its ranked rows, its too-small rows and its chart."""
        if self.report is None:
            return []
        sections = []
        for dimension in DIMENSIONS:
            rows = self.report.of(dimension)
            ranked = rows.filter(pl.col("is_ranked")).sort("rank")
            too_small = rows.filter(~pl.col("is_ranked")).sort("n_engaged", descending=True)
            chart_rows = [(item_label(row), row["adjusted_difference"], row["ci_low"],
                           row["ci_high"])
                          for row in ranked.head(CHART_ITEMS).iter_rows(named=True)]
            sections.append({
                "dimension": dimension,
                "ranked": list(ranked.iter_rows(named=True)),
                "too_small": list(too_small.iter_rows(named=True)),
                "chart": difference_bars(chart_rows, f"Best {DIMENSION_WORDS[dimension]}")
                if chart_rows else None,
            })
        return sections


DIMENSION_WORDS = {"content": "films and images", "theme": "themes", "campaign": "campaigns"}


def item_label(row: dict) -> str:
    """How an item is named on the page: a theme in words, a film by its title and id."""
    if row["dimension"] == "theme":
        return theme_label(row["item_id"])
    if row["dimension"] == "content" and row.get("title"):
        return f"{row['title']} ({row['item_id']})"
    return row["item_id"]


def what_works(exports_dir: Path) -> WhatWorks:
    """The newest report; a file that cannot be read says so instead of failing the page."""
    path = newest_report_file(exports_dir)
    if path is None:
        return WhatWorks(None)
    try:
        return WhatWorks(read_report_file(path))
    except (OSError, ValueError, KeyError, TypeError) as error:
        return WhatWorks(None, f"The newest report, {path.name}, cannot be read ({error}). "
                               "Please tell the data team.")


def report_csv(report: StoredReport) -> bytes:
    """The report's rows as CSV, REPORT_COLUMNS in order (docs/INTERFACES.md)."""
    buffer = io.BytesIO()
    report.rows.select(REPORT_COLUMNS).write_csv(buffer)
    return buffer.getvalue()
