"""Bad rows planted by `--faults` (a known small number of each reason) or at a share of every
text file's rows (`WorldSettings.fault_rate`, the reasons in turn): one broken rule per row.

Each fault row starts as a copy of an honest impression (so every other field is valid and the
person is a real one) with a fresh event id that no valid event has, then breaks one rule.
Personal data is planted only where no other rule applies (an e-mail cannot be a valid
person_id, so e-mails go into campaign_id/municipality/channel; phone numbers and IP addresses
in person_id are chosen to match the person_id pattern), so each row has exactly one reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

# The reason codes ingestion reports; the order fixes how many of each are planted.
FAULT_REASONS = (
    "missing_event_id", "event_id_too_long", "missing_occurred_at", "bad_occurred_at",
    "future_occurred_at", "missing_person_id", "bad_person_id", "pii_email", "pii_phone",
    "pii_ip_address", "bad_id_type", "bad_event_type", "missing_content_id", "bad_watch_seconds",
    "bad_device", "missing_consent", "bad_consent", "malformed_row",
)

_BAD_OCCURRED_AT = ("not-a-date", "2026-13-45T25:61:00Z", "yesterday evening", "31/12/2026 18:00")
# All in the year 2099: in the future whenever the inbox is loaded.
_FUTURE_OCCURRED_AT = ("2099-06-01T12:00:00Z", "2099-01-15T08:30:00+01:00", 4084000000000)
_BAD_PERSON_IDS = ("abc12", "person id with spaces", "x" * 130, "id#with!chars")
_EMAILS = ("anna.lindqvist@example.se", "erik.berg@mail.example.com", "kontakt@norrut.example")
_PHONES = (("person_id", "0701234567"), ("municipality", "+46 70 123 45 67"),
           ("person_id", "0046701234567"), ("campaign_id", "070-123 45 67"))
_IP_ADDRESSES = (("person_id", "192.168.10.20"), ("campaign_id", "2001:db8::8a2e:370:7334"),
                 ("person_id", "10.20.30.40"), ("municipality", "172.16.254.1"))
_BAD_ID_TYPES = ("idfa", "gaid", "device_id")
_BAD_EVENT_TYPES = ("purchase", "page_view", "like")
_BAD_WATCH_SECONDS = (-12.5, 20000.0, "twelve")
_BAD_DEVICES = ("smartwatch", "console", "fridge")
_BAD_CONSENT = ("maybe", "perhaps", "unknown")
_MALFORMED_JSON = ("truncated_object", "not_an_object", "not_json")
_MALFORMED_CSV = ("too_few_fields", "too_many_fields")


@dataclass
class FaultRow:
    reason: str
    values: dict[str, object]  # a contract field left out here is missing
    malformed: str | None = None
    write_null: bool = False  # JSON: write missing fields as null instead of leaving them out
    position: float = 0.0
    extra: dict[str, object] = field(default_factory=dict)


def faults_per_reason(honest_events: int) -> dict[str, int]:
    """How many rows of each reason to plant: distinct small counts, more in bigger worlds."""
    scale = max(1, honest_events // 250_000)
    return {reason: scale * (2 + index % 4) for index, reason in enumerate(FAULT_REASONS)}


def break_rule(reason: str, variant: int, template: dict[str, object], for_json: bool) -> FaultRow:
    """A copy of `template` (typed honest values) with the one rule of `reason` broken."""
    values = dict(template)
    row = FaultRow(reason=reason, values=values, write_null=variant % 2 == 1)
    pick = lambda options: options[variant % len(options)]
    if reason == "missing_event_id":
        del values["event_id"]
    elif reason == "event_id_too_long":
        values["event_id"] = f"{values['event_id']}_{'x' * (50 + variant)}"
    elif reason == "missing_occurred_at":
        del values["occurred_at"]
    elif reason == "bad_occurred_at":
        values["occurred_at"] = pick(_BAD_OCCURRED_AT)
    elif reason == "future_occurred_at":
        values["occurred_at"] = pick(_FUTURE_OCCURRED_AT)
    elif reason == "missing_person_id":
        del values["person_id"]
    elif reason == "bad_person_id":
        values["person_id"] = pick(_BAD_PERSON_IDS)
    elif reason == "pii_email":
        values[pick(("campaign_id", "municipality", "channel"))] = pick(_EMAILS)
    elif reason == "pii_phone":
        name, value = pick(_PHONES)
        values[name] = value
    elif reason == "pii_ip_address":
        name, value = pick(_IP_ADDRESSES)
        values[name] = value
    elif reason == "bad_id_type":
        values["id_type"] = pick(_BAD_ID_TYPES)
    elif reason == "bad_event_type":
        values["event_type"] = pick(_BAD_EVENT_TYPES)
    elif reason == "missing_content_id":
        values["event_type"] = pick(("view", "click"))
        del values["content_id"]
    elif reason == "bad_watch_seconds":
        values["event_type"] = "video_progress"
        values["watch_seconds"] = pick(_BAD_WATCH_SECONDS)
    elif reason == "bad_device":
        values["device"] = pick(_BAD_DEVICES)
    elif reason == "missing_consent":
        del values["consent"]
    elif reason == "bad_consent":
        values["consent"] = pick(_BAD_CONSENT)
    elif reason == "malformed_row":
        row.malformed = pick(_MALFORMED_JSON if for_json else _MALFORMED_CSV)
    else:
        raise ValueError(f"unknown fault reason {reason!r}")
    return row


def fault_json_line(row: FaultRow, fields: tuple[str, ...]) -> str:
    if row.malformed == "truncated_object":
        return f'{{"event_id":"{row.values["event_id"]}","occurred_at":"2026-'
    if row.malformed == "not_an_object":
        return '["view","not","an","object"]'
    if row.malformed == "not_json":
        return "this line is not json"
    document: dict[str, object] = {}
    for name in fields:
        if name in row.values and row.values[name] is not None:
            document[name] = row.values[name]
        elif row.write_null:
            document[name] = None
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def _csv_text(value: object, ones_and_zeros: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return ("1" if value else "0") if ones_and_zeros else ("true" if value else "false")
    return str(value)


def fault_csv_line(row: FaultRow, column_order: list[str], ones_and_zeros: bool) -> str:
    texts = [_csv_text(row.values.get(name), ones_and_zeros) for name in column_order]
    if row.malformed == "too_few_fields":
        texts = texts[:3]
    elif row.malformed == "too_many_fields":
        texts = texts + ["surplus", "fields"]
    return ",".join(texts)
