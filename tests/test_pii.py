"""Personal data never enters the warehouse: not in events, quarantine, manifests or anywhere."""

from __future__ import annotations

import re

import duckdb

from norrut.contract import PERSON_ID_PATTERN, PII_PATTERNS, looks_like_pii
from tests.event_files import (
    PII_EMAIL,
    PII_IP_ADDRESS,
    PII_PHONE,
    good_event,
    write_csv,
    write_jsonl,
    write_parquet,
)
from warehouse.ingest import ingest_inbox
from warehouse.sql_files import read_sql

PLANTED = (PII_EMAIL, PII_PHONE, PII_IP_ADDRESS, "0701234567", "2001:db8::8a2e:370:7334",
           "kontakt@norrut.example", "erik.berg@mail.example.com", "070-123 45 67")


def _every_text_value(warehouse) -> list[str]:
    """Every value of every column of every table, as text (lists and JSON included)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute("select schema_name, table_name from duckdb_tables()").fetchall()
        values = []
        for schema, table in tables:
            columns = [row[0] for row in con.execute(
                "select column_name from duckdb_columns() where schema_name = ? and table_name = ?",
                [schema, table]).fetchall()]
            for column in columns:
                values += [row[0] for row in con.execute(
                    f'select cast("{column}" as varchar) from "{schema}"."{table}" '
                    f'where "{column}" is not null').fetchall()]
        return values


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
    leaks = [value for value in _every_text_value(home.warehouse_path)
             for planted in PLANTED if planted in value]
    assert leaks == [], "personal data was stored"
    with duckdb.connect(str(home.warehouse_path), read_only=True) as con:
        unknown_note = con.execute(
            "select distinct field from raw.quarantine_rows where reason = 'pii_email' "
            "and field = 'contact_note'").fetchall()
    assert unknown_note == [("contact_note",)], "PII in an unknown column is found and named"


def test_personal_values_are_not_printed_by_the_cli(prefect_harness, home, tmp_path):
    from typer.testing import CliRunner

    from norrut.cli import build_app

    write_jsonl(tmp_path / "inbox" / "a.jsonl", [good_event(1, person_id=PII_EMAIL),
                                                 good_event(2, municipality=PII_PHONE)])
    result = CliRunner().invoke(build_app(), ["ingest", str(tmp_path / "inbox")])
    assert result.exit_code == 0, result.output
    assert PII_EMAIL not in result.output and PII_PHONE not in result.output


def test_sql_macros_use_exactly_the_contract_patterns():
    # given the SQL macros file, then each contract pattern appears in it verbatim
    text = read_sql("queries/contract_macros.sql")
    for name, pattern in PII_PATTERNS.items():
        for part in pattern.split("|^") if name == "pii_phone" else [pattern]:
            assert part.lstrip("^") in text, f"{name} pattern differs from norrut/contract.py"
    assert f"'{PERSON_ID_PATTERN}'" in text


def test_sql_and_python_detectors_agree_on_samples():
    samples = [PII_EMAIL, PII_PHONE, PII_IP_ADDRESS, "0701234567", "0046701234567",
               "070-123 45 67", "2001:db8::8a2e:370:7334", "12:30:00", "1772384645000",
               "ck_0a1b2c3d4e5f60718293a4b5", "pub_A1b2C3d4E5f6G7", "SE-AB", "Luleå",
               "3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b", "::1", "10.20.30.40"]
    with duckdb.connect() as con:
        con.execute(read_sql("queries/contract_macros.sql"))
        for value in samples:
            email, phone, ip, any_pii = con.execute(
                "select norrut_is_email($v), norrut_is_phone($v), norrut_is_ip_address($v), "
                "norrut_may_hold_pii($v)", {"v": value}).fetchone()
            sql_reason = ("pii_email" if email else "pii_ip_address" if ip
                          else "pii_phone" if phone else None)
            assert sql_reason == looks_like_pii(value), value
            assert any_pii == (sql_reason is not None), f"prefilter disagrees on {value!r}"
    assert re.fullmatch(PERSON_ID_PATTERN.strip("^$"), "ck_0a1b2c3d4e5f60718293a4b5")
