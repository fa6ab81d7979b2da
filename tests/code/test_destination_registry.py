"""Adding a destination is one change: registering its exporter in activation.exporters.EXPORTERS.

A test-only exporter is registered (and nothing else touched); the segments file, the lift
command's check, an export run's manifest and the portal then know it.
"""

from __future__ import annotations

import json

import pytest
from activation_fixtures import AS_OF, ChampionStore, scored_warehouse, shared_champion_store

from activation.definitions import (
    SegmentConfigError,
    SegmentsFile,
    destination_names,
    parse_segments,
)
from activation.destination_settings import DestinationSettings
from activation.export_run import SegmentsToExport, export_segments, recorded_settings
from activation.exporters import EXPORTERS
from activation.exporters.maid_list import MaidListExporter
from activation.lift import LiftInputError, check_lift_inputs, ids_in_file
from core.contract import INTENT_EVENT_TYPES
from portal import exports as portal_exports

TEST_ONLY = "test_only_platform"


class TestOnlyExporter(MaidListExporter):
    __test__ = False  # not a test class, whatever its name
    name = TEST_ONLY
    label = "A platform registered by a test"
    spec = "none: tests/code/test_destination_registry.py registers it"
    spec_url = None
    own_minimum = 1
    id_form = "lower"
    header = "test_maid"
    file_name = "test_only_platform.csv"


@pytest.fixture(scope="module")
def champion_store(tmp_path_factory) -> ChampionStore:
    return shared_champion_store(tmp_path_factory)


@pytest.fixture
def registered(monkeypatch) -> str:
    monkeypatch.setitem(EXPORTERS, TEST_ONLY, TestOnlyExporter)
    return TEST_ONLY


def _segments(destinations: list[str] | None = None) -> dict:
    segment = {"name": "everyone", "description": "All scored persons.",
               "select": {"min_score": 0}}
    if destinations is not None:
        segment["destinations"] = destinations
    return {"min_audience_size": 20, "segments": [segment]}


def test_an_unregistered_name_is_refused_listing_the_registered_ones():
    assert TEST_ONLY not in destination_names()
    with pytest.raises(SegmentConfigError, match="destinations.0: Input should be 'generic', "
                       "'meta', 'google_ads', 'tiktok', 'snapchat' or 'the_trade_desk'$"):
        parse_segments(_segments([TEST_ONLY]))
    with pytest.raises(LiftInputError, match="one of generic, meta, google_ads"):
        check_lift_inputs("everyone", TEST_ONLY, None, INTENT_EVENT_TYPES)


def test_a_registered_exporter_is_a_destination_of_the_segments_file(registered):
    # then it is listed, generic still first, and is every segment's default destination too
    assert destination_names()[0] == "generic" and destination_names()[-1] == registered
    config = parse_segments(_segments())
    assert config.destinations_of(config.segments[0])[-1] == registered
    # and a segment may name it alone
    chosen = parse_segments(_segments([registered]))
    assert chosen.destinations_of(chosen.segments[0]) == ["generic", registered]
    # and errors and the JSON schema list it among the allowed names
    with pytest.raises(SegmentConfigError, match=f"'the_trade_desk' or '{registered}'$"):
        parse_segments(_segments(["myspace"]))
    schema = SegmentsFile.model_json_schema()
    assert schema["properties"]["destinations"]["items"]["enum"] == list(destination_names())
    # and lift accepts it
    check_lift_inputs("everyone", registered, None, INTENT_EVENT_TYPES)


def test_the_manifest_records_the_registered_destinations_required_settings():
    assert recorded_settings(DestinationSettings()) == {
        "google_ads_app_id": None, "the_trade_desk_advertiser_id": None,
        "the_trade_desk_ttl_minutes": None}
    settings = DestinationSettings.model_validate({
        "google_ads": {"app_id": "se.norrbotten.flyttahit"},
        "the_trade_desk": {"advertiser_id": "adv123", "ttl_minutes": 60}})
    assert recorded_settings(settings) == {
        "google_ads_app_id": "se.norrbotten.flyttahit", "the_trade_desk_advertiser_id": "adv123",
        "the_trade_desk_ttl_minutes": 60}


def test_an_export_run_writes_a_registered_destination_and_its_manifest_lists_it(
        tmp_path, champion_store, registered):
    # given a scored warehouse, when exporting a segment to the registered destination alone
    warehouse_path, population = scored_warehouse(tmp_path, champion_store, 200)
    settings = SegmentsToExport(parse_segments(_segments([registered])))
    report = export_segments(warehouse_path, tmp_path / "exports", AS_OF, settings)
    # then its file is written and the manifest lists it beside generic
    folder = report.folder / "everyone"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["segment"]["definition"]["destinations"] == ["generic", registered]
    assert [entry["destination"] for entry in manifest["files"]] == ["generic", registered]
    entry = manifest["files"][1]
    assert entry["file"] == "test_only_platform.csv" and entry["rows"] > 0
    ids = ids_in_file(folder / entry["file"], registered)
    assert len(ids) == entry["rows"]
    assert set(ids) <= {person_id.lower() for person_id in population.ids("maid")}
    # and the portal offers it for download
    run = portal_exports.find_run(tmp_path / "exports", AS_OF.isoformat(), report.version)
    offered = run.find_segment("everyone").find_file(registered, 1)
    assert offered is not None and offered.sha256 == entry["sha256"]
