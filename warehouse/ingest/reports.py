"""What an ingest run reports: one FileResult per file, an IngestReport of the run's totals."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from warehouse.catalog import CatalogReport


@dataclass
class FileResult:
    """What happened to one file of the inbox."""

    file_name: str
    file_sha256: str
    status: str  # loaded | quarantined | already_loaded
    file_format: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    duplicates_skipped: int = 0
    suppressed_dropped: int = 0
    unknown_columns: tuple[str, ...] = ()
    failure_reason: str | None = None
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class IngestReport:
    """Totals of one `ingest_inbox` run."""

    files: list[FileResult]
    catalog: CatalogReport | None
    seconds: float

    def _with_status(self, status: str) -> list[FileResult]:
        return [result for result in self.files if result.status == status]

    def _total(self, count: str) -> int:
        return sum(getattr(result, count) for result in self.files)

    @property
    def files_loaded(self) -> int:
        return len(self._with_status("loaded"))

    @property
    def files_quarantined(self) -> int:
        return len(self._with_status("quarantined"))

    @property
    def files_already_loaded(self) -> int:
        return len(self._with_status("already_loaded"))

    @property
    def rows_read(self) -> int:
        return self._total("rows_read")

    @property
    def rows_loaded(self) -> int:
        return self._total("rows_loaded")

    @property
    def rows_quarantined(self) -> int:
        return self._total("rows_quarantined")

    @property
    def duplicates_skipped(self) -> int:
        return self._total("duplicates_skipped")

    @property
    def suppressed_dropped(self) -> int:
        return self._total("suppressed_dropped")

    @property
    def quarantined_by_reason(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for result in self.files:
            total.update(result.quarantined_by_reason)
        return dict(sorted(total.items()))

    @property
    def anything_quarantined(self) -> bool:
        return self.files_quarantined > 0 or self.rows_quarantined > 0 or bool(
            self.catalog and self.catalog.rows_rejected)

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds > 0 else 0.0


# Called after each file with its result, the files done so far and the inbox's file count.
ProgressCallback = Callable[[FileResult, int, int], None]


class StrictIngestError(RuntimeError):
    """--strict was asked for and something was quarantined."""

    def __init__(self, report: IngestReport) -> None:
        super().__init__(
            f"{report.files_quarantined} file(s) and {report.rows_quarantined} row(s) quarantined")
        self.report = report
