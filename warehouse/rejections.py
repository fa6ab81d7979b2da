"""Row-level rejections of an input file, as (row number, reason) pairs, and their summaries."""

from __future__ import annotations

from collections import Counter


class RejectedRows:
    """Mixin for a report dataclass with a `rejected: list[tuple[int, str]]` field."""

    rejected: list[tuple[int, str]]

    @property
    def rows_rejected(self) -> int:
        return len(self.rejected)

    @property
    def rejected_by_reason(self) -> dict[str, int]:
        return dict(sorted(Counter(reason for _, reason in self.rejected).items()))
