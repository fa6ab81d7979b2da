"""The data contract (shared/CONTRACT.md) as constants, shared by ingestion, simulator and exports."""

from __future__ import annotations

import re

ID_TYPES = ("cookie", "maid", "publisher")
DEVICES = ("mobile", "desktop", "tablet", "ctv", "unknown")
ENGAGEMENT_EVENT_TYPES = (
    "impression", "view", "video_progress", "click", "share", "reaction", "comment",
)
INTENT_EVENT_TYPES = ("job_click", "guide_download", "inquiry", "signup", "fair_registration")
EVENT_TYPES = ENGAGEMENT_EVENT_TYPES + INTENT_EVENT_TYPES
CONTENT_KINDS = ("film", "image")
OPTOUT_KINDS = ("erasure", "objection")
THEMES = (
    "mountains", "coast", "forest", "northern_lights", "winter_outdoor", "summer_outdoor",
    "safety", "family_life", "schools", "housing", "short_commute", "culture", "food",
    "sports_leisure", "city_life", "green_industry", "engineering_jobs", "tech_jobs",
    "healthcare_jobs", "education_jobs", "public_sector_jobs", "entrepreneurship",
)

EVENT_FIELDS = (
    "event_id", "occurred_at", "person_id", "id_type", "event_type", "content_id",
    "campaign_id", "channel", "watch_seconds", "region", "device", "consent", "municipality",
)
REQUIRED_EVENT_FIELDS = ("event_id", "occurred_at", "person_id", "id_type", "event_type", "consent")

EVENT_FILE_SUFFIXES = (".jsonl", ".ndjson", ".csv", ".parquet",
                       ".jsonl.gz", ".ndjson.gz", ".csv.gz")

EVENT_ID_MAX_LENGTH = 64
PERSON_ID_PATTERN = r"^[A-Za-z0-9_.:-]{8,128}$"
MAX_WATCH_SECONDS = 4 * 3600
# A mobile advertising id (IDFA, GAID) is a UUID: 8-4-4-4-12 hex digits, in either case.
UUID_PATTERN = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
MAX_FUTURE_SKEW_HOURS = 24

# Personal-data detectors. Written in the RE2 dialect so DuckDB's regexp_matches and
# Python's re agree. An e-mail is found anywhere in a value; an IP address or phone number
# must be the whole value (ids and epochs are digit runs too, so a substring match would
# reject honest rows). Phone numbers need an international (+ or 00) or national (0)
# prefix, so epoch milliseconds and numeric publisher ids are not mistaken for them.
EMAIL_PATTERN = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
IPV4_PATTERN = (
    r"^\s*(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
    r"(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}\s*$"
)
# Full eight-group form, or a compressed form with "::" (so "12:30:00" is not an address).
IPV6_PATTERN = (
    r"^\s*(([0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}"
    r"|([0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{0,4}::([0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{0,4})\s*$"
)
PHONE_PATTERN = r"^\s*(\+|00)[1-9][0-9 ()./-]{6,18}[0-9]\s*$|^\s*0[1-9][0-9 ()./-]{5,14}[0-9]\s*$"

PII_PATTERNS = {
    "pii_email": EMAIL_PATTERN,
    "pii_ip_address": IPV4_PATTERN + "|" + IPV6_PATTERN,
    "pii_phone": PHONE_PATTERN,
}


def canonical_person_id(person_id: str) -> str:
    """The one form a pseudonym is stored, matched, suppressed and exported in.

    A UUID (every mobile advertising id) is case-insensitive, so it is lower-cased whatever
    its id_type says: an opt-out file names no id_type, and both sides must agree. Any other
    pseudonym is kept exactly as given. Mirrored by the SQL macro norrut_canonical_person_id.
    """
    if re.fullmatch(UUID_PATTERN, person_id):
        return person_id.lower()
    return person_id


def looks_like_pii(value: str) -> str | None:
    """The pii_* reason a value trips, or None."""
    for reason, pattern in PII_PATTERNS.items():
        if re.search(pattern, value):
            return reason
    return None
