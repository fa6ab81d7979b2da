"""Personal data never enters the warehouse: not in events, quarantine, manifests or anywhere."""

from __future__ import annotations

import re

import duckdb
from pii_search import every_text_value

from core.contract import (
    EMAIL_PATTERN,
    IPV4_PATTERN,
    IPV6_PATTERN,
    PERSON_ID_PATTERN,
    PHONE_PATTERN,
    PII_PATTERNS,
    fold_lookalikes,
    lookalike_folds,
    looks_like_pii,
)
from tests.event_files import (
    PII_EMAIL,
    PII_IP_ADDRESS,
    PII_PHONE,
    good_event,
    write_csv,
    write_jsonl,
    write_parquet,
)
from warehouse.ingest.loading import ingest_inbox
from warehouse.sql_files import read_sql

PLANTED = (PII_EMAIL, PII_PHONE, PII_IP_ADDRESS, "0701234567", "2001:db8::8a2e:370:7334",
           "kontakt@norrut.example", "erik.berg@mail.example.com", "070-123 45 67")


def test_no_planted_personal_value_is_stored_anywhere(home, tmp_path):
    # given personal data in contract fields and in unknown extra columns, in every format
    rows = [
        good_event(1, person_id=PII_EMAIL),
        good_event(2, municipality=PII_PHONE),
        good_event(3, region=PII_IP_ADDRESS),
        good_event(4, person_id="0701234567"),
        good_event(5, campaign_id="2001:db8::8a2e:370:7334"),
        good_event(6, contact_note="kontakt@norrut.example"),  # an unknown column
        good_event(7, event_id=PII_EMAIL),
        good_event(8),
        {**good_event(9), "erik.berg@mail.example.com": "070-123 45 67"},  # a personal header
    ]
    write_jsonl(tmp_path / "inbox" / "a.jsonl.gz", rows)
    write_csv(tmp_path / "inbox" / "b.csv", [dict(r, event_id=f"b{r['event_id']}") for r in rows])
    write_parquet(tmp_path / "inbox" / "c.parquet",
                  [dict(r, event_id=f"c{r['event_id']}") for r in rows])

    # when ingested
    report = ingest_inbox(home.warehouse_path, tmp_path / "inbox")

    # then only the clean rows load, and no planted value is in any column of any table
    assert report.rows_loaded == 3
    assert report.rows_quarantined == 21 + 3
    leaks = [value for value in every_text_value(home.warehouse_path)
             for planted in PLANTED if planted in value]
    assert leaks == [], "personal data was stored"
    with duckdb.connect(str(home.warehouse_path), read_only=True) as con:
        unknown_note = con.execute(
            "select distinct field from raw.quarantine_rows where reason = 'pii_email' "
            "and field = 'contact_note'").fetchall()
    assert unknown_note == [("contact_note",)], "PII in an unknown column is found and named"


def test_personal_values_are_not_printed_by_the_cli(home, tmp_path):
    from typer.testing import CliRunner

    from norrut.cli.app import build_app

    write_jsonl(tmp_path / "inbox" / "a.jsonl", [good_event(1, person_id=PII_EMAIL),
                                                 good_event(2, municipality=PII_PHONE)])
    result = CliRunner().invoke(build_app(), ["ingest", str(tmp_path / "inbox")])
    assert result.exit_code == 0, result.output
    assert PII_EMAIL not in result.output and PII_PHONE not in result.output
    # nor written to the run's summary in the home (no Prefect server configured here)
    reports = sorted((home.root / "reports" / "ingest").glob("*.md"))
    assert reports, "the direct run wrote no summary"
    for report in reports:
        text = report.read_text(encoding="utf-8")
        assert PII_EMAIL not in text and PII_PHONE not in text, report


def _re2_class(characters) -> str:
    """An RE2 character class of these characters, by code point, in ranges."""
    ranges: list[list[int]] = []
    for code in sorted(ord(character) for character in characters):
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return "[" + "".join(f"\\x{{{first:X}}}" if first == last
                         else f"\\x{{{first:X}}}-\\x{{{last:X}}}" for first, last in ranges) + "]"


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _expected_sql_literals() -> dict[str, str]:
    """What contract_macros.sql must hold, as literals, made from core/contract.py."""
    folds = lookalike_folds()
    translated = [character for character, folded in folds.items() if folded not in ("", " ")]
    every_pattern = f"{EMAIL_PATTERN}|{PHONE_PATTERN}|{IPV4_PATTERN}|{IPV6_PATTERN}"
    lookalikes = _re2_class(folds)
    return {
        "look-alike class": lookalikes,
        "dropped look-alikes": _re2_class(c for c, folded in folds.items() if folded == ""),
        "space look-alikes": _re2_class(c for c, folded in folds.items() if folded == " "),
        "translated look-alikes": "".join(translated),
        "their ASCII": "".join(folds[character] for character in translated),
        "pii_email": EMAIL_PATTERN,
        "pii_phone": PHONE_PATTERN,
        "pii_ip_address": PII_PATTERNS["pii_ip_address"],
        "row prefilter": "(?m)" + every_pattern + "|" + lookalikes,
        "direct-load check": r"(?m)^\s|\s$|^$|" + every_pattern + "|" + lookalikes,
    }


def test_sql_macros_use_exactly_the_contract_patterns():
    # given the SQL macros file, then each contract pattern and the look-alike table appear in
    # it verbatim, as literals
    text = read_sql("queries/contract_macros.sql")
    for name, literal in _expected_sql_literals().items():
        assert _sql_literal(literal) in text, (
            f"{name} differs from core/contract.py; contract_macros.sql should hold "
            f"{_sql_literal(literal)}")
    assert f"'{PERSON_ID_PATTERN}'" in text


# Values the detectors must find: every variant of breaks 5 and 6 of issue 16 and the older ones.
PERSONAL = {
    "pii_email": [PII_EMAIL, "kontakt@norrut.example", "anna (at) mail.se", "anna[at]mail.se",
                  "anna\uff20mail.se", "anna@ex\u00e4mple.se", "leads-anna@example.com.jsonl",
                  "\uff41\uff4e\uff4e\uff41\uff20\uff4d\uff41\uff49\uff4c\uff0e\uff53\uff45",
                  "anna\u200b@mail.se", "anna(at)mail(dot)se", '{"mail": "anna@mail.se"}'],
    "pii_phone": [PII_PHONE, "0701234567", "0046701234567", "070-123 45 67", "tel:+46705551105",
                  "ring 070-555 11 06", "070\u00a0555\u00a011\u00a007", "070\u2013555 11 09",
                  "46705551108", '{"tel":"070-555 01 01"}', "0705551515.jsonl", "08-123 45",
                  "\uff10\uff17\uff10\uff15\uff15\uff15\uff11\uff11\uff10\uff16",
                  "\u0660\u0667\u0660\u0665\u0665\u0665\u0661\u0661\u0660\u0666",
                  '{"note": "x\\n0705551106"}'],
    "pii_ip_address": [PII_IP_ADDRESS, "10.20.30.40", "2001:db8::8a2e:370:7334", "::1",
                       "192.168.12.4:8080", "[2001:db8::1206]", "::ffff:192.0.2.10",
                       "192.168.010.010", '["192.168.77.77"]',
                       "\uff12\uff10\uff10\uff11\uff1a\uff44\uff42\uff18\uff1a\uff1a\uff11"],
}
# Honest values that must pass: ids, times, codes and names of every kind the contract allows.
HONEST = ["1772384645000", "-1772384645000", "1772384645", "4084000000000", "48213377",
          "1234567890", "ck_0a1b2c3d4e5f60718293a4b5", "ck_abc123.def", "ck_0123456789abcdef0123",
          "ev_0123456789abcdef", "evt-00000001", "pub_A1b2C3d4E5f6G7",
          "3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b", "01234567-8901-4234-8567-890123456789",
          "2026-03-01T18:04:05+01:00", "2026-03-01 18:04:05", "20261020T120000Z", "12:30:00",
          "2026-10-20 12:00:00.123456+00", "2016-12-31T23:59:60Z", "31/12/2026 18:00",
          "SE-AB", "DE", "Luleå", "Umeå", "Örnsköldsvik", "Höga Kusten \u2013 vinter", "12.5",
          "0.25", "std::string", "events-20260918-20260921-01.jsonl.gz", "spring-2026"]


def test_sql_and_python_detectors_agree_on_samples():
    # given personal values in every variant and honest values of every kind
    samples = [(value, reason) for reason, values in PERSONAL.items() for value in values]
    samples += [(value, None) for value in HONEST]
    with duckdb.connect() as con:
        con.execute(read_sql("queries/contract_macros.sql"))
        for value, expected in samples:
            # when both detectors judge the value
            email, phone, ip, any_pii, direct_check, folded = con.execute(
                "select norrut_is_email($v), norrut_is_phone($v), norrut_is_ip_address($v), "
                "norrut_may_hold_pii($v), norrut_may_hold_pii_or_untrimmed($v), "
                "norrut_folded($v)", {"v": value}).fetchone()
            sql_reason = ("pii_email" if email else "pii_phone" if phone
                          else "pii_ip_address" if ip else None)
            # then they agree with each other and with the expected reason
            assert looks_like_pii(value) == expected, f"Python on {value!r}"
            assert sql_reason == expected, f"SQL on {value!r}"
            assert folded == fold_lookalikes(value), f"folding of {value!r}"
            if expected is not None:
                assert any_pii and direct_check, f"a prefilter lets {value!r} through"
            elif value.isascii():
                assert not any_pii and not direct_check, f"a prefilter stops honest {value!r}"
    assert re.fullmatch(PERSON_ID_PATTERN.strip("^$"), "ck_0a1b2c3d4e5f60718293a4b5")
