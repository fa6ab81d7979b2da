"""Property: personal data, however it is written and wherever a file puts it, is stored nowhere.

Hypothesis makes e-mail addresses, phone numbers and IP addresses in the variants of issue 16
(look-alike characters, (at), tel:, ports, brackets, mapped and zero-padded addresses, nested
JSON, a number inside a longer text) and plants them in contract fields, unknown extra columns,
column names and file names, in every format. After an ingest into a fresh home, none of them
is in any file of the home (raw bytes, after a checkpoint), in any table's text, or in the run's
summary.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pii_search import personal_values_stored

from core.contract import EVENT_FIELDS, fold_lookalikes
from core.home import NorrutHome
from flows.reports import ingest_markdown
from tests.event_files import good_event, write_csv, write_jsonl, write_parquet
from warehouse.ingest.loading import ingest_inbox

WRITERS = {"jsonl": write_jsonl, "jsonl.gz": write_jsonl, "csv": write_csv,
           "parquet": write_parquet}
# Contract fields free text can go in; a personal value in any of them is quarantined.
TEXT_FIELDS = ("event_id", "person_id", "content_id", "campaign_id", "channel", "region",
               "municipality")
# Look-alikes a producer's keyboard or word processor may put in place of ASCII.
SPACES = (" ", "\u00a0", "\u2009", "\u202f", "\u3000")
DASHES = ("-", "\u2013", "\u2014", "\u2212")


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _maybe_full_width(draw, text: str) -> str:
    return _full_width(text) if draw(st.booleans()) and draw(st.booleans()) else text


@st.composite
def emails(draw) -> str:
    local = draw(st.from_regex(r"[a-z][a-z0-9]{2,8}(\.[a-z]{2,8})?", fullmatch=True))
    domain = draw(st.from_regex(r"[a-zåäöé][a-z0-9åäöé]{2,9}", fullmatch=True))
    tld = draw(st.sampled_from(["se", "com", "nu", "example", "org"]))
    at = draw(st.sampled_from(["@", "@", " (at) ", "[at]", "(AT)", " @ ", "\uff20", "\ufe6b"]))
    dot = draw(st.sampled_from([".", ".", ".", "\uff0e", "\u3002"]))
    return _maybe_full_width(draw, f"{local}{at}{domain}{dot}{tld}")


@st.composite
def phones(draw) -> str:
    subscriber = draw(st.from_regex(r"[0-9]{7}", fullmatch=True))
    mobile = draw(st.sampled_from(["70", "72", "73", "76", "79"]))
    space, dash = draw(st.sampled_from(SPACES)), draw(st.sampled_from(DASHES))
    grouped = f"{subscriber[:3]}{space}{subscriber[3:5]}{space}{subscriber[5:]}"
    number = draw(st.sampled_from([
        f"0{mobile}{dash}{grouped}", f"0{mobile}{subscriber}", f"+46{space}{mobile}{space}{grouped}",
        f"0046{mobile}{subscriber}", f"46{mobile}{subscriber}", f"+46{mobile}{subscriber}",
        f"08{dash}{subscriber[:3]}{space}{subscriber[3:5]}{space}{subscriber[5:]}",
    ]))
    prefix = draw(st.sampled_from(["", "", "tel:", "ring ", "Tel. ", "mobil: "]))
    return _maybe_full_width(draw, prefix + number)


@st.composite
def ip_addresses(draw) -> str:
    octets = draw(st.lists(st.integers(0, 255), min_size=3, max_size=3))
    first = draw(st.integers(10, 223))
    padded = draw(st.booleans())
    ipv4 = ".".join(f"{o:03d}" if padded else str(o) for o in [first, *octets])
    groups = draw(st.lists(st.from_regex(r"[1-9a-f][0-9a-f]{0,3}", fullmatch=True),
                           min_size=3, max_size=6))
    ipv6 = f"2001:{groups[0]}::{':'.join(groups[1:])}"
    port = draw(st.integers(1024, 65535))
    return _maybe_full_width(draw, draw(st.sampled_from([
        ipv4, f"{ipv4}:{port}", f"::ffff:{ipv4}", ipv6, f"[{ipv6}]", f"[{ipv6}]:{port}",
        ":".join(draw(st.lists(st.from_regex(r"[1-9a-f][0-9a-f]{3}", fullmatch=True),
                               min_size=8, max_size=8))),
    ])))


personal_values = st.one_of(emails(), phones(), ip_addresses())


@dataclass(frozen=True)
class Planted:
    """One personal value and where a file puts it."""

    value: str
    place: str  # a contract field, "extra column", "column name" or "file name"
    nesting: str  # "none", "object" or "array": the value inside a nested JSON value


plantings = st.builds(
    Planted, personal_values,
    st.sampled_from([*TEXT_FIELDS, "extra column", "column name", "file name"]),
    st.sampled_from(["none", "none", "object", "array"]))


def _row(number: int, planted: Planted, file_format: str) -> dict[str, object]:
    value: object = planted.value
    if planted.nesting == "object":
        value = {"note": planted.value}
    elif planted.nesting == "array":
        value = [planted.value]
    if not isinstance(value, str) and not file_format.startswith("jsonl"):
        value = json.dumps(value, ensure_ascii=False)
    if planted.place in TEXT_FIELDS:
        return good_event(number, **{planted.place: value})
    if planted.place == "extra column":
        return good_event(number, contact_note=value)
    if planted.place == "column name":
        return {**good_event(number), planted.value: "see column"}
    return good_event(number)


@st.composite
def inboxes(draw) -> list[tuple[str, list[Planted]]]:
    """1-3 files, each of a format and holding 1-3 planted values."""
    files = draw(st.lists(st.tuples(st.sampled_from(sorted(WRITERS)),
                                    st.lists(plantings, min_size=1, max_size=3)),
                          min_size=1, max_size=3))
    return files


def _write_inbox(inbox: Path, files: list[tuple[str, list[Planted]]]) -> None:
    number = 0
    for index, (file_format, planted_values) in enumerate(files):
        rows = [good_event(number := number + 1)]
        name = f"batch-{index}"
        for planted in planted_values:
            rows += [_row(number := number + 1, planted, file_format),
                     good_event(number := number + 1)]
            if planted.place == "file name" and name == f"batch-{index}":
                # one value per name keeps it within the file system's 255 bytes
                name += f"-{planted.value}"
        WRITERS[file_format](inbox / f"{name}.{file_format}", rows)


def _needles(planted: Planted) -> list[str]:
    """The value as planted and as the detectors read it: neither may be stored."""
    return sorted({planted.value, fold_lookalikes(planted.value)})


@pytest.mark.slow
@settings(max_examples=30, deadline=timedelta(seconds=60), derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(inboxes())
def test_no_generated_personal_value_is_stored_anywhere(files):
    assert "contact_note" not in EVENT_FIELDS
    with tempfile.TemporaryDirectory(prefix="norrut-pii-") as folder:
        # given an inbox whose files plant personal values in fields, columns and names
        _write_inbox(Path(folder) / "inbox", files)
        home = NorrutHome.resolve(Path(folder) / "home").ensure()

        # when it is ingested into a fresh home
        report = ingest_inbox(home.warehouse_path, Path(folder) / "inbox")

        # then every good row loads, and no planted value is stored anywhere or summed up
        good_rows = sum(1 + len(planted_values) for _, planted_values in files)
        assert report.rows_loaded >= good_rows, "good rows are lost"
        needles = [needle for _, planted_values in files for planted in planted_values
                   for needle in _needles(planted)]
        assert personal_values_stored(home, needles) == {}
        summary = ingest_markdown(report)
        assert [needle for needle in needles if needle in summary] == []
