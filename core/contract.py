"""The data contract (shared/CONTRACT.md) as constants, shared by ingestion, simulator and exports."""

from __future__ import annotations

import functools
import re
import unicodedata

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

# Personal-data detectors. Written in the part of the RE2 dialect that Python's re reads the
# same way, so DuckDB's regexp_matches (contract_macros.sql holds them as literals) and
# looks_like_pii agree. They match a value after fold_lookalikes and anywhere in it, so a
# personal value inside a longer text (`ring 070-555 11 06`, a nested JSON value) is found too.
# A phone number or address must then stand on its own: ids, epochs and hex are runs of the
# same characters, so a match must not start or end inside such a run (a UUID, `ck_...`).
# The e-mail's @ may be written (at) or [at], and its domain may be an IDN (non-ASCII letters).
_NOT_ASCII = r"[^\x00-\x7f]"
_EMAIL_LOCAL = r"(?:[A-Za-z0-9._%+-]|" + _NOT_ASCII + r")+"
_EMAIL_AT = r" *(?:@|[(\[{<] *[Aa][Tt] *[)\]}>]) *"
_EMAIL_LABEL = r"(?:[A-Za-z0-9-]|" + _NOT_ASCII + r")+"
_EMAIL_DOT = r"(?:\.| *[(\[{<] *[Dd][Oo][Tt] *[)\]}>] *)"
_EMAIL_TLD = r"(?:[A-Za-z]|" + _NOT_ASCII + r"){2,}"
EMAIL_PATTERN = (_EMAIL_LOCAL + _EMAIL_AT + _EMAIL_LABEL
                 + "(?:" + _EMAIL_DOT + _EMAIL_LABEL + ")*" + _EMAIL_DOT + _EMAIL_TLD)

# A digit run starts at the value's start, after a character that cannot be part of an id, or
# after a JSON escape (a nested value's text keeps `\n`). '-' and '.' do not start one: UUIDs and
# ISO timestamps continue over them. It may end at a '.' (end of a sentence, a file suffix).
_JSON_ESCAPE = r"\\[nrt]"
_PHONE_START = r"(?:^|[^0-9A-Za-z_.-]|" + _JSON_ESCAPE + ")"
_PHONE_END = r"(?:$|[^0-9A-Za-z_-])"
# A digit, after at most two separators ("070-555 11 06", "+46 (0)70 ...").
_PHONE_DIGIT = r"(?:[ ./()-]{0,2}[0-9])"
# International (+ or 00 and a country code: 7-15 digits), national (0 and an area code: 7-13
# digits) or a Swedish mobile number written with its country code but without the + (46 7x
# and 8 digits). Other countries' codes without a + are not told from numeric ids.
PHONE_PATTERN = (
    _PHONE_START
    + r"(?:(?:\+|00)[1-9]" + _PHONE_DIGIT + "{6,13}"
    + r"|0[1-9]" + _PHONE_DIGIT + "{5,11}"
    + r"|46[ ./-]{0,2}7" + _PHONE_DIGIT + "{8})"
    + _PHONE_END
)

# An address stands between characters that cannot continue it: "192.168.12.4:8080",
# "[2001:db8::1206]", "::ffff:192.0.2.10" (found as IPv4). Octets may be zero-padded ("010").
_IP_START = r"(?:^|[^0-9A-Za-z_.]|" + _JSON_ESCAPE + ")"
_IP_END = r"(?:$|[^0-9A-Za-z_])"
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|[01]?[0-9]?[0-9])"
IPV4_PATTERN = _IP_START + _OCTET + r"(?:\." + _OCTET + "){3}" + _IP_END
# Full eight-group form, or a compressed form with "::" (so "12:30:00" is not an address).
_IPV6_START = r"(?:^|[^0-9A-Za-z_.:]|" + _JSON_ESCAPE + ")"
_IPV6_END = r"(?:$|[^0-9A-Za-z_.:])"
IPV6_PATTERN = (
    _IPV6_START
    + r"(?:(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}"
    + r"|(?:[0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{0,4}::(?:[0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{0,4})"
    + _IPV6_END
)

# In the order a row's reason is chosen (docs: pii_email, pii_phone, pii_ip_address).
PII_PATTERNS = {
    "pii_email": EMAIL_PATTERN,
    "pii_phone": PHONE_PATTERN,
    "pii_ip_address": IPV4_PATTERN + "|" + IPV6_PATTERN,
}

# Look-alike characters, folded before the detectors match (an NFKC-like folding). DuckDB has no
# NFKC, so this is one character for one (or for none), which its translate() does the same way
# (contract_macros.sql, norrut_folded; tests/data/test_pii.py checks both hold this table). It holds:
# - what Unicode NFKC turns into one ASCII character: any, in the full-width forms (＠, ０, ａ);
#   a digit, space or separator the detectors read, in the other blocks of ASCII look-alikes;
# - the decimal digits of the Arabic script (a number typed on an Arabic keyboard);
# - what NFKC leaves alone but reads as a space, a dash or a full stop; invisible characters,
#   dropped.
# DuckDB's translate() rebuilds its table on every call (~100 ns per table character), so the
# table stays this size and SQL folds only values holding one of its characters.
_FULL_WIDTH_FORMS = (0xFF01, 0xFF5E)
_ASCII_LOOKALIKE_BLOCKS = (
    (0x00A0, 0x00BF),  # no-break space, superscript digits
    (0x2000, 0x206F),  # general punctuation: en, em, thin and other spaces, one dot leader
    (0x2070, 0x209F),  # superscripts and subscripts
    (0x2460, 0x24FF),  # circled digits
    (0x3000, 0x3000),  # ideographic space
    (0xFE50, 0xFE6F),  # small form variants: ﹫ ﹒ ﹣ ...
    (0x1D7CE, 0x1D7FF),  # mathematical digits
)
_DETECTOR_CHARACTERS = "0123456789 +-.:@()[]"
_ARABIC_DIGIT_ZEROS = (0x0660, 0x06F0)
_OTHER_SPACES = "\u1680\u2028\u2029"
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2e3a\u2e3b\ufe58"
_FULL_STOPS = "\u3002\ufe12\uff61"
_INVISIBLES = "\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e" \
              "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff"


def canonical_person_id(person_id: str) -> str:
    """The one form a pseudonym is stored, matched, suppressed and exported in.

    A UUID (every mobile advertising id) is case-insensitive, so it is lower-cased whatever
    its id_type says: an opt-out file names no id_type, and both sides must agree. Any other
    pseudonym is kept exactly as given. Mirrored by the SQL macro norrut_canonical_person_id.
    """
    if re.fullmatch(UUID_PATTERN, person_id):
        return person_id.lower()
    return person_id


@functools.cache
def lookalike_folds() -> dict[str, str]:
    """Each look-alike character and the ASCII character it folds to ("" = dropped)."""
    folds: dict[str, str] = {}
    for first, last in (_FULL_WIDTH_FORMS, *_ASCII_LOOKALIKE_BLOCKS):
        for code in range(first, last + 1):
            folded = unicodedata.normalize("NFKC", chr(code))
            if len(folded) == 1 and folded.isascii() and folded != chr(code) and (
                    (first, last) == _FULL_WIDTH_FORMS or folded in _DETECTOR_CHARACTERS):
                folds[chr(code)] = folded
    for zero in _ARABIC_DIGIT_ZEROS:
        folds |= {chr(zero + digit): str(digit) for digit in range(10)}
    folds |= dict.fromkeys(_OTHER_SPACES, " ") | dict.fromkeys(_DASHES, "-")
    folds |= dict.fromkeys(_FULL_STOPS, ".") | dict.fromkeys(_INVISIBLES, "")
    return folds


@functools.cache
def _lookalike_table() -> dict[int, str]:
    return str.maketrans(lookalike_folds())


def fold_lookalikes(value: str) -> str:
    """`value` with its look-alike characters folded (see lookalike_folds); what the detectors
    read. Mirrored by the SQL macro norrut_folded."""
    return value if value.isascii() else value.translate(_lookalike_table())


def looks_like_pii(value: str) -> str | None:
    """The pii_* reason a value trips (after folding its look-alikes), or None."""
    folded = fold_lookalikes(value)
    for reason, pattern in PII_PATTERNS.items():
        if re.search(pattern, folded):
            return reason
    return None


# A file's name is not data (shared/CONTRACT.md §1): one that looks personal is recorded,
# reported and logged as this, with the first hex digits of the file's SHA-256, so the stand-in
# is stable and tells files apart.
WITHHELD_FILE_NAME = "<file name withheld: looks personal>"


def looks_like_personal_file_name(name: str) -> bool:
    """True when the name, or any part of its path, looks personal. '_' and '-' separate words
    in a name ("leads_0705551515.jsonl"), so the name is also read with them as spaces."""
    folded = fold_lookalikes(name)
    return bool(looks_like_pii(folded)
                or looks_like_pii(folded.replace("_", " ").replace("-", " ")))


def stored_file_name(name: str, file_sha256: str) -> str:
    """The name a file is recorded and reported under: its own, or WITHHELD_FILE_NAME and the
    first 12 hex digits of its content's SHA-256 when the name looks personal."""
    if looks_like_personal_file_name(name):
        return f"{WITHHELD_FILE_NAME} #{file_sha256[:12]}"
    return name
