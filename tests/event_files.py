"""Small contract-following event files for tests, in every format the contract names.

Rows are dicts of contract fields; a value of None leaves the field out (JSON) or empty (CSV).
Test data is tiny, so plain Python writers are fine here.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from core.contract import EVENT_FIELDS

BASE_TIME = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

# Personal data planted by tests; none of these strings may appear anywhere in a warehouse.
PII_EMAIL = "anna.svensson@example.se"
PII_PHONE = "+46 70 123 45 67"
PII_IP_ADDRESS = "192.168.10.42"

# One row per quarantine reason the contract implies, as overrides of a good event.
BAD_ROW_OVERRIDES: dict[str, dict[str, object]] = {
    "missing_event_id": {"event_id": None},
    "event_id_too_long": {"event_id": "e" * 65},
    "missing_occurred_at": {"occurred_at": None},
    "bad_occurred_at": {"occurred_at": "last tuesday"},
    "future_occurred_at": {"occurred_at": "2999-01-01T00:00:00Z"},
    "missing_person_id": {"person_id": None},
    "bad_person_id": {"person_id": "short"},
    "pii_email": {"person_id": PII_EMAIL},
    "pii_phone": {"municipality": PII_PHONE},
    "pii_ip_address": {"region": PII_IP_ADDRESS},
    "bad_id_type": {"id_type": "email_hash"},
    "bad_event_type": {"event_type": "purchase"},
    "missing_content_id": {"event_type": "view", "content_id": None},
    "bad_watch_seconds": {"watch_seconds": -5},
    "bad_device": {"device": "fridge"},
    "missing_consent": {"consent": None},
    "bad_consent": {"consent": "maybe"},
}


def good_event(number: int, **overrides: object) -> dict[str, object]:
    """A valid engagement event; `number` makes event and person ids distinct."""
    event: dict[str, object] = {
        "event_id": f"evt-{number:08d}",
        "occurred_at": (BASE_TIME + timedelta(minutes=number)).isoformat().replace("+00:00", "Z"),
        "person_id": f"cookie-{number % 7:06d}",
        "id_type": "cookie",
        "event_type": "video_progress",
        "content_id": f"film-{number % 3:03d}",
        "campaign_id": "spring-2026",
        "channel": "Meta",
        "watch_seconds": 12.5,
        "region": "SE-AB",
        "device": "mobile",
        "consent": True,
        "municipality": "Luleå",
    }
    event.update(overrides)
    return event


def bad_event(number: int, reason: str) -> dict[str, object]:
    return good_event(number, **BAD_ROW_OVERRIDES[reason])


def _json_line(row: dict[str, object]) -> str:
    return json.dumps({k: v for k, v in row.items() if v is not None}, ensure_ascii=False)


def _write_lines(path: Path, lines: list[str], extra_lines: dict[int, str] | None) -> Path:
    """The lines (with raw text put at the indexes of extra_lines) as a file, gzip when the name
    ends in .gz."""
    for index, text in sorted((extra_lines or {}).items()):
        lines.insert(index, text)
    data = ("\n".join(lines) + "\n").encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def write_jsonl(path: Path, rows: list[dict[str, object]], *, extra_lines: dict[int, str] | None = None
                ) -> Path:
    """JSON lines (gzip when the name ends in .gz); extra_lines puts raw text at a line index."""
    lines = [_json_line(row) for row in rows]
    return _write_lines(path, lines, extra_lines)


def _csv_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_csv(path: Path, rows: list[dict[str, object]], *, columns: list[str] | None = None,
              extra_lines: dict[int, str] | None = None) -> Path:
    """CSV with a header (gzip when the name ends in .gz); extra_lines as in write_jsonl."""
    columns = columns or list(dict.fromkeys(key for row in rows for key in row)) or list(EVENT_FIELDS)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_value(row.get(column)) for column in columns])
    lines = buffer.getvalue().splitlines()
    return _write_lines(path, lines, extra_lines)


def write_parquet(path: Path, rows: list[dict[str, object]]) -> Path:
    """Parquet keeping each column's Python type; a column of mixed types is written as text."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    data = {}
    for column in columns:
        values = [row.get(column) for row in rows]
        kinds = {type(value) for value in values if value is not None}
        data[column] = [None if v is None else _csv_value(v) for v in values] if len(kinds) > 1 \
            else values
    table = pa.table(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


def write_catalog(path: Path) -> Path:
    """A small valid catalog covering the content ids good_event uses."""
    rows = [
        ["film-000", "film", "Midnight sun in Luleå", "95", "coast|summer_outdoor", "Luleå",
         "2026-01-10T08:00:00Z"],
        ["film-001", "film", "Engineers of Boden", "120", "engineering_jobs|green_industry", "Boden",
         ""],
        ["film-002", "image", "Northern lights", "", '["northern_lights", "winter_outdoor"]',
         "Kiruna", ""],
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["content_id", "kind", "title", "duration_seconds", "themes", "municipality",
                     "published_at"])
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def write_generated_events(path: Path, first: int, count: int, *, persons: int = 5000) -> Path:
    """`count` valid events numbered from `first`, written fast by DuckDB (CSV, JSONL(.gz),
    Parquet by suffix). Timestamps rotate through the contract's three forms; ids repeat
    across calls that overlap in numbers, which makes cross-file duplicates."""
    import duckdb

    query = """
        select
            'gen-' || lpad(cast(n as varchar), 10, '0') as event_id,
            case n % 3
                when 0 then strftime(timestamp '2026-01-01' + to_seconds(n * 7), '%Y-%m-%dT%H:%M:%SZ')
                when 1 then strftime(timestamp '2026-01-01' + to_seconds(n * 7) + interval 1 hour,
                                     '%Y-%m-%dT%H:%M:%S+01:00')
                else cast(epoch_ms(timestamp '2026-01-01' + to_seconds(n * 7)) as varchar)
            end as occurred_at,
            'ck_' || lpad(cast(n % $persons as varchar), 12, '0') as person_id,
            'cookie' as id_type,
            case when n % 50 = 0 then 'job_click' when n % 2 = 0 then 'view'
                 else 'video_progress' end as event_type,
            'film-' || cast(n % 40 as varchar) as content_id,
            'campaign-' || cast(n % 5 as varchar) as campaign_id,
            case n % 3 when 0 then 'meta' when 1 then 'YouTube' else 'tiktok' end as channel,
            cast(n % 300 as double) / 2 as watch_seconds,
            case n % 4 when 0 then 'SE-AB' when 1 then 'SE-O' when 2 then 'DE' else 'SE-BD' end
                as region,
            case n % 2 when 0 then 'mobile' else 'desktop' end as device,
            n % 17 <> 0 as consent,
            case n % 3 when 0 then 'Luleå' when 1 then 'Boden' else 'Kiruna' end as municipality
        from range($first, $first + $count) as numbers(n)
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as con:
        relation = con.sql(query, params={"first": first, "count": count, "persons": persons})
        name = path.name
        if name.endswith(".parquet"):
            relation.write_parquet(str(path))
        elif name.endswith((".csv", ".csv.gz")):
            relation.write_csv(str(path), header=True,
                               compression="gzip" if name.endswith(".gz") else None)
        else:
            relation.create_view("generated")
            compression = "gzip" if name.endswith(".gz") else "none"
            target = str(path).replace("'", "''")
            con.execute(f"copy generated to '{target}' (format json, compression {compression})")
    return path
