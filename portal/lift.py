"""Lift results of earlier campaigns: `<exports_dir>/lift/<campaign>.json` (see README.md)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from activation.export_store import lift_files


@dataclass
class GroupOutcome:
    persons: int
    converted: int

    @property
    def rate(self) -> float | None:
        return self.converted / self.persons if self.persons > 0 else None


@dataclass
class LiftResult:
    file_name: str
    campaign: str
    document: dict[str, Any] | None
    problem: str | None = None
    treated: GroupOutcome | None = None
    holdout: GroupOutcome | None = None

    @property
    def relative_lift(self) -> float | None:
        """(treated rate / holdout rate) - 1; the file's own value when it gives one."""
        given = (self.document or {}).get("relative_lift")
        if isinstance(given, int | float) and not isinstance(given, bool):
            return float(given)
        if self.treated is None or self.holdout is None:
            return None
        treated_rate, holdout_rate = self.treated.rate, self.holdout.rate
        if treated_rate is None or not holdout_rate:
            return None
        return treated_rate / holdout_rate - 1

    @property
    def confidence_interval(self) -> tuple[float, float] | None:
        interval = (self.document or {}).get("relative_lift_ci95")
        if (isinstance(interval, list) and len(interval) == 2
                and all(isinstance(bound, int | float) and math.isfinite(bound)
                        for bound in interval)):
            return float(interval[0]), float(interval[1])
        return None

    def field(self, key: str) -> str:
        value = (self.document or {}).get(key)
        return "" if value is None or isinstance(value, dict | list) else str(value)


def list_lift_results(exports_dir: Path) -> list[LiftResult]:
    """Every lift file, newest measurement first; unreadable files come back with a problem."""
    results = [_read(path) for path in lift_files(exports_dir)]
    return sorted(results, key=lambda result: result.field("measured_at"), reverse=True)


def _read(path: Path) -> LiftResult:
    campaign = path.stem
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        return LiftResult(path.name, campaign, None, f"cannot be read: {error}")
    if not isinstance(document, dict):
        return LiftResult(path.name, campaign, None, "is not a JSON object")
    result = LiftResult(path.name, str(document.get("campaign") or campaign), document)
    result.treated = _group(document.get("treated"))
    result.holdout = _group(document.get("holdout"))
    if result.treated is None or result.holdout is None:
        result.problem = "needs 'treated' and 'holdout' with whole-number 'persons' and 'converted'"
    return result


def _group(value: Any) -> GroupOutcome | None:
    if not isinstance(value, dict):
        return None
    persons, converted = value.get("persons"), value.get("converted")
    if not all(isinstance(number, int) and not isinstance(number, bool) and number >= 0
               for number in (persons, converted)) or converted > persons:
        return None
    return GroupOutcome(persons, converted)
