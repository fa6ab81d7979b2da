"""The contract's row rules as the ingest SQL binds them, and how quarantine names columns.

The rules themselves, and the quarantine reason each gives, are in
warehouse/sql/queries/check_events.sql.
"""

from __future__ import annotations

from datetime import UTC, datetime

from core.contract import (
    DEVICES,
    ENGAGEMENT_EVENT_TYPES,
    EVENT_ID_MAX_LENGTH,
    EVENT_TYPES,
    ID_TYPES,
    MAX_FUTURE_SKEW_HOURS,
    MAX_WATCH_SECONDS,
    looks_like_pii,
)

WITHHELD_COLUMN_NAME = "<name withheld: looks personal>"


def contract_rule_params(earliest_occurred_at: datetime) -> dict[str, object]:
    """The contract's limits and value lists, as check_events.sql binds them; the clock is read now, for the future-time rule. Times are bound as naive UTC,
    as occurred_at is stored."""
    return {
        "loaded_at": datetime.now(UTC).replace(tzinfo=None),
        "earliest_occurred_at": earliest_occurred_at.astimezone(UTC).replace(tzinfo=None),
        "max_future_hours": MAX_FUTURE_SKEW_HOURS,
        "max_event_id_length": EVENT_ID_MAX_LENGTH,
        "max_watch_seconds": float(MAX_WATCH_SECONDS),
        "id_types": list(ID_TYPES), "event_types": list(EVENT_TYPES),
        "engagement_types": list(ENGAGEMENT_EVENT_TYPES), "devices": list(DEVICES),
    }


def shown_column_names(names: list[str]) -> list[str]:
    """Unknown column names as they are recorded and reported: one that looks personal is
    withheld."""
    return [WITHHELD_COLUMN_NAME if looks_like_pii(name) else name for name in names]
