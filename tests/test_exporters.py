"""Each destination's file against its published format: headers, values, hashing, size limits."""

from __future__ import annotations

import csv
import hashlib
import json
import uuid
from datetime import date

import polars as pl
import pytest

from segments.definitions import DestinationSettings, parse_segments
from segments.exporters import EXPORTERS
from segments.exporters.base import ExportContext, ExportValidationError
from segments.exporters.generic import GenericExporter
from segments.exporters.google_ads import GoogleAdsExporter
from segments.exporters.meta import MetaExporter
from segments.exporters.snapchat import SnapchatExporter
from segments.exporters.the_trade_desk import TheTradeDeskExporter, split_by_size
from segments.exporters.tiktok import TikTokExporter

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


def test_google_ads_file_has_the_single_mobile_device_id_header_and_raw_ids(tmp_path):
    audience = _audience([_maid(1, upper=True), _maid(2), ZERO])
    _write(GoogleAdsExporter(), audience, tmp_path)
    assert _rows(tmp_path / "google_ads.csv") == [["Mobile Device ID"], [_maid(1, upper=True)],
                                                  [_maid(2)]]
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


def test_a_duplicate_id_is_refused(tmp_path):
    audience = _audience([_maid(1), _maid(1, upper=True)], others=0)
    with pytest.raises(ExportValidationError, match="duplicate"):
        _write(MetaExporter(), audience, tmp_path)
