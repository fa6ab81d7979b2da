"""Each destination's file against its published format: headers, values, hashing, size limits."""

from __future__ import annotations

import csv
import hashlib
import json
import uuid
from datetime import date

import polars as pl
import pytest

from activation.definitions import parse_segments
from activation.destination_settings import DestinationSettings
from activation.exporters import EXPORTERS
from activation.exporters.base import ExportContext, ExportValidationError
from activation.exporters.generic import GenericExporter
from activation.exporters.google_ads import GoogleAdsExporter
from activation.exporters.meta import MetaExporter
from activation.exporters.snapchat import SnapchatExporter
from activation.exporters.the_trade_desk import TheTradeDeskExporter, split_by_size
from activation.exporters.tiktok import TikTokExporter

ZERO = "00000000-0000-0000-0000-000000000000"
SETTINGS = DestinationSettings.model_validate({
    "google_ads": {"app_id": "se.norrbotten.flyttahit"},
    "the_trade_desk": {"advertiser_id": "adv123", "ttl_minutes": 43200},
})
CONTEXT = ExportContext("top-decile", date(2026, 11, 1), SETTINGS)


def _maid(index: int, upper: bool = False) -> str:
    value = str(uuid.UUID(int=(0xA1B2C3D4 << 96) | index))
    return value.upper() if upper else value


def _audience(maids: list[str], others: int = 2) -> pl.DataFrame:
    ids = maids + [f"cookie_{i:06d}" for i in range(others)]
    n = len(ids)
    return pl.DataFrame({
        "person_id": ids,
        "id_type": ["maid"] * len(maids) + ["cookie"] * others,
        "score": [0.9 - 0.8 * i / n for i in range(n)],
        "rank": list(range(1, n + 1)),
        "decile": [1 + (10 * i) // n for i in range(n)],
    })


def _rows(path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def _write(exporter, audience, folder, context=CONTEXT):
    prepared = exporter.prepare(audience)
    return prepared, exporter.write(prepared.rows, folder, context)


def test_every_destination_has_an_exporter_with_a_cited_spec():
    assert set(EXPORTERS) == {"generic", "meta", "google_ads", "tiktok", "snapchat",
                              "the_trade_desk"}
    for exporter in EXPORTERS.values():
        doc = __import__(exporter.__module__, fromlist=["_"]).__doc__
        assert "http" in doc or exporter is GenericExporter, f"{exporter.name} cites no spec"
        # and the class says the same: the document's title, and its address in the docstring
        assert exporter.spec, exporter.name
        assert exporter is GenericExporter or exporter.spec_url.startswith("https://")
        assert exporter.spec_url is None or exporter.spec_url in " ".join(doc.split()), (
            f"{exporter.name}: spec_url is not the address its module cites")


def test_every_exporter_declares_its_facts():
    for name, exporter in EXPORTERS.items():
        assert exporter.name == name and exporter.label, name
        assert exporter.id_form in ("canonical", "lower", "sha256_lower"), name
        assert exporter.own_minimum >= 1, name
        for setting in exporter.required_settings:
            # each "<block>.<field>" is a field of a DestinationSettings block
            block, _, field = setting.partition(".")
            assert field in getattr(SETTINGS, block).model_dump(), setting


def test_a_destination_without_its_required_settings_says_which_is_missing():
    bare = ExportContext("s", date(2026, 11, 1), DestinationSettings())
    assert TheTradeDeskExporter().unavailable_reason(bare) == (
        "no the_trade_desk.advertiser_id in destination_settings")
    assert GoogleAdsExporter().unavailable_reason(bare) == (
        "no google_ads.app_id in destination_settings; a device-id list needs its app")
    for name, exporter in EXPORTERS.items():
        assert exporter().unavailable_reason(CONTEXT) is None, name
        assert (exporter().unavailable_reason(bare) is None) == (not exporter.required_settings)


def test_generic_file_is_the_contract_csv_with_every_id_type(tmp_path):
    audience = _audience([_maid(1), _maid(2, upper=True)], others=3)
    _, files = _write(GenericExporter(), audience, tmp_path)
    rows = _rows(tmp_path / "generic.csv")
    assert rows[0] == ["person_id", "id_type", "score", "rank", "decile"]
    assert len(rows) == 6 and {row[1] for row in rows[1:]} == {"maid", "cookie"}
    assert [int(row[3]) for row in rows[1:]] == [1, 2, 3, 4, 5]
    assert files[0].rows == 5 and files[0].file == "generic.csv"


def test_generic_refuses_a_score_outside_zero_to_one(tmp_path):
    audience = _audience([_maid(1)]).with_columns(pl.lit(1.5).alias("score"))
    with pytest.raises(ExportValidationError, match="probabilities"):
        _write(GenericExporter(), audience, tmp_path)
    assert not (tmp_path / "generic.csv").exists(), "nothing is written on a bad value"


def test_meta_file_has_madid_header_and_raw_lower_case_maids_only(tmp_path):
    audience = _audience([_maid(1, upper=True), _maid(2), ZERO, "not-a-uuid-at-all"])
    prepared, files = _write(MetaExporter(), audience, tmp_path)
    rows = _rows(tmp_path / "meta.csv")
    assert rows == [["madid"], [_maid(1)], [_maid(2)]]
    assert prepared.ids_rejected == 2, "the all-zero id and a non-UUID are left out and counted"
    assert files[0].rows == 2
    assert MetaExporter.own_minimum == 100


def test_google_ads_file_has_the_single_mobile_device_id_header_and_canonical_ids(tmp_path):
    # given an upper-case IDFA, a lower-case AAID and the all-zero id
    audience = _audience([_maid(1, upper=True), _maid(2), ZERO])
    # when written
    _write(GoogleAdsExporter(), audience, tmp_path)
    # then both are there unhashed, in the canonical (lower-case) form, and the zero id is not
    assert _rows(tmp_path / "google_ads.csv") == [["Mobile Device ID"], [_maid(1)], [_maid(2)]]
    assert GoogleAdsExporter.own_minimum == 100
    # without an app id in settings the destination is unavailable, and says why
    bare = ExportContext("s", date(2026, 11, 1), DestinationSettings())
    assert "app_id" in GoogleAdsExporter().unavailable_reason(bare)


def test_tiktok_file_has_maid_header_and_one_consistent_case(tmp_path):
    audience = _audience([_maid(1, upper=True), _maid(2), _maid(3, upper=True)])
    _write(TikTokExporter(), audience, tmp_path)
    rows = _rows(tmp_path / "tiktok.csv")
    assert rows[0] == ["MAID"] and len(rows) == 4
    assert all(len(row) == 1 and row[0] == row[0].lower() for row in rows[1:])
    assert TikTokExporter.own_minimum == 1000


@pytest.mark.parametrize(("exporter", "expected"), [
    (MetaExporter, b"madid\n" + b"".join(_maid(i).encode() + b"\n" for i in (1, 2, 3))),
    (TikTokExporter, b"MAID\n" + b"".join(_maid(i).encode() + b"\n" for i in (1, 2, 3))),
    (SnapchatExporter, b"MOBILE_AD_ID_SHA256\n" + b"".join(
        hashlib.sha256(_maid(i).encode()).hexdigest().encode() + b"\n" for i in (1, 2, 3))),
])
def test_maid_list_files_are_these_exact_bytes(tmp_path, exporter, expected):
    # given mixed-case maids in rank order, another id type and the all-zero id
    audience = _audience([_maid(1, upper=True), _maid(2), ZERO, _maid(3, upper=True)])
    # when written, then the file is the header and one id a line, LF-ended, nothing else
    _, files = _write(exporter(), audience, tmp_path)
    path = tmp_path / exporter.file_name
    assert path.read_bytes() == expected
    assert (files[0].rows, files[0].bytes) == (3, len(expected))
    assert files[0].sha256 == hashlib.sha256(expected).hexdigest()


def test_snapchat_file_holds_sha256_of_the_lower_cased_maid(tmp_path):
    audience = _audience([_maid(1, upper=True), _maid(2)])
    _write(SnapchatExporter(), audience, tmp_path)
    rows = _rows(tmp_path / "snapchat.csv")
    assert rows[0] == ["MOBILE_AD_ID_SHA256"]
    expected = [hashlib.sha256(_maid(i).encode()).hexdigest() for i in (1, 2)]
    assert [row[0] for row in rows[1:]] == expected
    assert SnapchatExporter.own_minimum == 1000
    assert _maid(1) not in (tmp_path / "snapchat.csv").read_text(), "no raw id leaks"


def test_the_trade_desk_json_has_the_first_party_shape(tmp_path):
    audience = _audience([_maid(1, upper=True), _maid(2)])
    _, files = _write(TheTradeDeskExporter(), audience, tmp_path)
    body = json.loads((tmp_path / "the_trade_desk.json").read_text())
    assert body == {"AdvertiserId": "adv123", "Items": [
        {"DAID": _maid(1), "Data": [{"Name": "top-decile", "TtlInMinutes": 43200}]},
        {"DAID": _maid(2), "Data": [{"Name": "top-decile", "TtlInMinutes": 43200}]},
    ]}
    assert files[0].rows == 2


def test_the_trade_desk_splits_large_segments_into_parts_of_at_most_2_5_mb(tmp_path):
    # given 30,000 maids: about 2.9 MB of items, more than one upload body
    maids = [_maid(i) for i in range(30_000)]
    _, files = _write(TheTradeDeskExporter(), _audience(maids, others=0), tmp_path)
    # then it is split into numbered parts, each within the limit, each id exactly once
    assert [f.file for f in files] == ["the_trade_desk-0001.json", "the_trade_desk-0002.json"]
    seen = []
    for written in files:
        path = tmp_path / written.file
        assert path.stat().st_size <= 2_500_000 == TheTradeDeskExporter.max_body_bytes
        body = json.loads(path.read_bytes())
        assert body["AdvertiserId"] == "adv123" and len(body["Items"]) == written.rows
        seen += [item["DAID"] for item in body["Items"]]
    assert seen == maids
    assert files[0].bytes > 2_400_000, "the first part is filled before a second is started"


def test_split_by_size_never_exceeds_the_budget():
    import numpy as np

    sizes = np.array([10, 20, 30, 5, 5, 40, 1])
    parts = split_by_size(sizes, 41)
    assert parts == [(0, 2), (2, 4), (4, 5), (5, 6), (6, 7)]
    for start, stop in parts:
        assert sizes[start:stop].sum() + (stop - start - 1) <= 41
    with pytest.raises(ExportValidationError):
        split_by_size(np.array([50]), 41)


def test_the_trade_desk_ttl_is_capped_at_180_days():
    with pytest.raises(ValueError, match="ttl_minutes"):
        parse_segments({"destination_settings": {"the_trade_desk": {
            "advertiser_id": "adv123", "ttl_minutes": 180 * 24 * 60 + 1}},
            "segments": [{"name": "a", "description": "d", "select": {"top_k": 1}}]})


def test_ad_platforms_take_only_maids_and_generic_takes_all(tmp_path):
    audience = _audience([_maid(1)], others=4)
    for name, exporter in EXPORTERS.items():
        prepared = exporter().prepare(audience)
        expected = 5 if name == "generic" else 1
        assert prepared.rows.height == expected, name


def test_case_variants_of_one_maid_are_one_person_written_once_at_its_best_rank(tmp_path):
    # given one MAID twice, in two cases (a warehouse older than canonical storage), ranked 3
    # and 1, and another MAID in between
    audience = _audience([_maid(1), _maid(2), _maid(1, upper=True)], others=0)
    audience = audience.with_columns(pl.Series("rank", [3, 2, 1]))
    for name, exporter in EXPORTERS.items():
        # when each destination prepares the audience
        prepared = exporter().prepare(audience)
        # then the person is one row, the best-ranked one, with the canonical id
        rows = prepared.rows.sort("rank")
        assert rows["person_id"].to_list() == [_maid(1), _maid(2)], name
        assert rows["rank"].to_list() == [1, 2], name
        # and the destination writes it once
        exporter().write(prepared.rows, _folder(tmp_path, name), CONTEXT)


def _folder(tmp_path, name):
    folder = tmp_path / name
    folder.mkdir()
    return folder


def test_a_duplicate_id_reaching_write_is_a_bug_and_refused(tmp_path):
    # given an audience that skipped prepare() and holds one id twice
    audience = _audience([_maid(1), _maid(1)], others=0)
    # when written, then the exporter refuses rather than count the person twice
    with pytest.raises(ExportValidationError, match="duplicate"):
        MetaExporter().write(audience, tmp_path, CONTEXT)


@pytest.mark.parametrize("name", sorted(EXPORTERS))
def test_a_file_rewritten_for_erasure_keeps_its_format_byte_for_byte(tmp_path, name, monkeypatch):
    # given a destination's file(s) of a few persons (The Trade Desk in several parts)
    monkeypatch.setattr(TheTradeDeskExporter, "max_body_bytes", 400)
    exporter = EXPORTERS[name]()
    audience = _audience([_maid(i, upper=i % 2 == 0) for i in range(1, 9)], others=2)
    _, files = _write(exporter, audience, tmp_path)
    for written in files:
        path = tmp_path / written.file
        ids = exporter.read_ids(path)
        # when it is written again keeping every row, and keeping all but the first
        exporter.write_kept_rows(path, pl.Series([True] * ids.len()), tmp_path / "all.out")
        rows = exporter.write_kept_rows(path, pl.Series([False] + [True] * (ids.len() - 1)),
                                        tmp_path / "rest.out")
        # then the first gives the very same bytes, the second the same ids less the first
        assert (tmp_path / "all.out").read_bytes() == path.read_bytes(), written.file
        assert exporter.read_ids(tmp_path / "rest.out").to_list() == ids.to_list()[1:]
        assert rows == ids.len() - 1 == written.rows - 1
    assert name != "the_trade_desk" or len(files) > 1, "the parts are exercised"
