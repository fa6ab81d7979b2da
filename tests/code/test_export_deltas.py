"""Delta uploads (issue 15): each export run writes, per destination, who joined and who left
since the previous run of the segment and destination, in the platform's own formats; opted-out
persons are in the next remove file whatever else changed."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import duckdb
import polars as pl
import pytest
from activation_fixtures import (
    AS_OF,
    NEXT_DAY,
    ChampionStore,
    TwoDays,
    build_warehouse,
    export_two_days,
    make_population,
    shared_champion_store,
)

from activation.definitions import parse_segments
from activation.export_rewrite import remove_persons_from_exports
from activation.export_run import SegmentsToExport, export_segments
from activation.exporters import EXPORTERS
from activation.scoring import score_persons
from core.contract import UUID_PATTERN
from warehouse.optout import apply_optouts

SETTINGS = {
    "min_audience_size": 20,
    "holdout_fraction": 0,
    "destination_settings": {"google_ads": {"app_id": "se.norrbotten.flyttahit"},
                             "the_trade_desk": {"advertiser_id": "adv123"}},
    "segments": [{"name": "north", "description": "Lives in Norrbotten.",
                  "where": {"regions": ["SE-AB"]}, "select": {"min_score": 0}}],
}
# How each destination's add and remove files hold a MAID (lower-case UUID, or its SHA-256).
SHA256_HEX = r"^[0-9a-f]{64}$"


@pytest.fixture(scope="session")
def champion_store(tmp_path_factory) -> ChampionStore:
    return shared_champion_store(tmp_path_factory)


@pytest.fixture
def every_platform(monkeypatch):
    """Every platform takes the 400-person world's segment (their own minimums are 100-1,000)."""
    for exporter in EXPORTERS.values():
        monkeypatch.setattr(exporter, "own_minimum", 1)


def _export(warehouse: Path, exports: Path, as_of, tracking_uri: str | None = None, **changes):
    return export_segments(warehouse, exports, as_of,
                           SegmentsToExport(parse_segments({**SETTINGS, **changes})),
                           tracking_uri=tracking_uri)


def _form(destination: str, maid: str) -> str:
    lower = maid.lower()
    if EXPORTERS[destination].id_form == "sha256_lower":
        return hashlib.sha256(lower.encode()).hexdigest()
    return lower


def _file_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def _check_format(destination: str, kind: str, path: Path) -> list[str]:
    """The file's ids, after checking it is the platform's format for adding or removing."""
    exporter = EXPORTERS[destination]()
    if destination == "google_ads" and kind == "remove":
        body = json.loads(path.read_text())
        assert set(body) == {"operations"}, body
        for operation in body["operations"]:
            assert list(operation) == ["remove"], operation
            (identifier,) = operation["remove"]["userIdentifiers"]
            assert list(identifier) == ["mobileId"]
        return exporter.read_ids(path, "remove").to_list()
    rows = _file_rows(path)
    if destination == "generic":
        header = ["person_id", "id_type", "score", "rank", "decile"] if kind == "add" else [
            "person_id"]
        assert rows[0] == header, rows[0]
        return [row[0] for row in rows[1:]]
    # the MAID lists and Google's add file: the full file's single column
    assert rows[0] == [exporter.header], rows[0]
    values = [row[0] for row in rows[1:]]
    pattern = SHA256_HEX if exporter.id_form == "sha256_lower" else UUID_PATTERN
    assert all(pl.Series(values).str.contains(pattern)), values
    assert all(value == value.lower() for value in values)
    return values


@pytest.fixture
def two_days(tmp_path, champion_store, every_platform) -> TwoDays:
    return export_two_days(tmp_path / "warehouse.duckdb", tmp_path / "exports", champion_store,
                           SegmentsToExport(parse_segments(SETTINGS)))


def test_the_first_export_of_a_segment_has_no_delta(tmp_path, champion_store):
    warehouse = tmp_path / "warehouse.duckdb"
    build_warehouse(warehouse, make_population(400))
    score_persons(warehouse, AS_OF, champion_store.tracking_uri)
    report = _export(warehouse, tmp_path / "exports", AS_OF)
    manifest = json.loads((report.folder / "north" / "manifest.json").read_text())
    assert manifest["delta"]["first_export"] is True and manifest["delta"]["against"] is None
    assert "first export" in manifest["delta"]["note"]
    assert {entry["kind"] for entry in manifest["files"]} == {"full"}
    assert not [p for p in (report.folder / "north").iterdir() if "-add" in p.name
                or "-remove" in p.name]


def test_add_and_remove_files_hold_exactly_who_joined_and_who_left(two_days):
    first, second, people = two_days.first, two_days.second, two_days.people
    folder = second.folder / "north"
    manifest = json.loads((folder / "manifest.json").read_text())
    delta = manifest["delta"]
    # then the delta names the run it was made against
    assert delta["against"] == {"as_of": AS_OF.isoformat(), "export_version": first.version}
    entries = {entry["destination"]: entry for entry in delta["destinations"]}
    assert set(entries) == set(EXPORTERS)
    files = {(e["destination"], e["kind"]): e for e in manifest["files"]}
    left = {people["withdrawn"], people["opted_out"], people["moved_out"]}
    for destination, entry in entries.items():
        assert entry["against"] == delta["against"], destination
        if EXPORTERS[destination].removal == "ttl":
            # The Trade Desk: no files; the manifest says a person leaving expires by TTL
            assert "files" not in entry and "TTL" in entry["note"], entry
            assert (destination, "add") not in files and (destination, "remove") not in files
            continue
        # and each other destination's add file holds exactly the one who moved in, its
        # remove file exactly the three who left, in the platform's format
        added = _check_format(destination, "add", folder / entry["files"]["add"])
        removed = _check_format(destination, "remove", folder / entry["files"]["remove"])
        assert added == [_form(destination, people["moved_in"])], destination
        assert sorted(removed) == sorted(_form(destination, p) for p in left), destination
        assert (entry["added"], entry["removed"]) == (1, 3)
        assert entry["removed_because"] == {"opted_out": 1, "moved_into_holdout": 0,
                                            "left_the_selection": 1, "no_longer_eligible": 1}
        # and their sizes and hashes are in the manifest
        for kind in ("add", "remove"):
            listed = files[(destination, kind)]
            data = (folder / listed["file"]).read_bytes()
            assert listed["sha256"] == hashlib.sha256(data).hexdigest(), listed
            assert listed["bytes"] == len(data) and listed["rows"] == (1 if kind == "add" else 3)
        # and a delta smaller than the minimum audience is written, the manifest says why
        assert "reveal no new audience" in entry["below_minimum"], entry
    # and the manifest says in words why this audience (the model's contributions)
    drivers = manifest["drivers"]
    assert drivers["persons_compared"] > 0 and drivers["features"], drivers
    assert all(driver["words"] and driver["contribution_raised_by"] > 0
               for driver in drivers["features"])


def test_the_portal_shows_the_changes_and_serves_their_files_checked_and_audited(
        home, champion_store, every_platform):
    from fastapi.testclient import TestClient
    from portal_fixtures import FAST_TEST_HASHER, add_user

    from portal.app import create_app
    from portal.audit import read_entries

    # given two exports a day apart in a home, and a campaign manager
    days = export_two_days(home.warehouse_path, home.exports_dir, champion_store,
                           SegmentsToExport(parse_segments(SETTINGS)))
    add_user(home.users_file, "maria", "northern lights 2026")
    url = f"/runs/{NEXT_DAY.isoformat()}/v1/north"
    manifest = json.loads((days.second.folder / "north" / "manifest.json").read_text())
    remove = next(entry for entry in manifest["files"]
                  if (entry["destination"], entry["kind"]) == ("meta", "remove"))
    with TestClient(create_app(home, password_hasher=FAST_TEST_HASHER)) as client:
        page = client.get("/login")
        token = page.text.split('name="form_token" value="')[1].split('"')[0]
        client.post("/login", data={"user_name": "maria", "password": "northern lights 2026",
                                    "form_token": token, "next": "/"})
        # when she opens the segment of the second day
        segment = client.get(url)
        # then it shows what changed since the last upload, the three files, and why
        assert segment.status_code == 200
        assert "What changed since the last upload" in segment.text
        assert f"Compared with the upload of {AS_OF.isoformat()} export 1" in segment.text
        assert f"{url}/changes/meta/add" in segment.text
        assert f"{url}/changes/google_ads/remove" in segment.text
        assert f"{url}/download/meta/1" in segment.text
        assert "Why this audience" in segment.text
        assert manifest["drivers"]["features"][0]["words"] in segment.text
        # and the remove file downloads as the bytes the manifest vouches for, logged
        response = client.get(f"{url}/changes/meta/remove")
        assert response.status_code == 200
        assert hashlib.sha256(response.content).hexdigest() == remove["sha256"]
        assert client.get(f"{url}/changes/meta/everything").status_code == 404
    entries, _ = read_entries(home.download_audit_log)
    assert [(e["file"], e["outcome"]) for e in entries] == [("meta-remove.csv", "served")]


def test_an_opted_out_identifier_is_kept_only_until_its_remove_file_is_written(two_days,
                                                                             tmp_path):
    warehouse, second, people = two_days.warehouse, two_days.second, two_days.people
    # then nothing waits for removal any more: the second run's remove files hold it
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from marts.pending_removals").fetchone() == (0,)
    # and the person is in no full or add file; only remove files (the platform's notice)
    forms = {_form(d, people["opted_out"]) for d in EXPORTERS} | {people["opted_out"]}
    for path in second.folder.parent.parent.rglob("*"):
        if path.is_file() and path.name != "manifest.json" and "-remove" not in path.name:
            assert not any(form.encode() in path.read_bytes() for form in forms), path


def test_an_opt_out_after_the_last_export_waits_for_the_next_remove_file(two_days, tmp_path):
    warehouse, second = two_days.warehouse, two_days.second
    exports = second.folder.parent.parent
    # given a person who was sent yesterday and today, and opts out now
    generic = pl.read_csv(second.folder / "north" / "generic.csv", infer_schema=False)
    person = generic.filter(pl.col("id_type") == "maid")["person_id"][0]
    optouts = tmp_path / "later.csv"
    optouts.write_text(f"person_id,requested_at,kind\n{person},2026-11-02T09:00:00Z,objection\n")
    run = apply_optouts(warehouse, optouts)
    remove_persons_from_exports(warehouse, exports, run.run_id)
    # then the platform identifiers already sent wait, one per destination taking removals
    with duckdb.connect(str(warehouse), read_only=True) as con:
        waiting = dict(con.execute("select destination, platform_id from marts.pending_removals "
                                   "where segment_name = 'north'").fetchall())
    assert waiting == {d: _form(d, person) for d, e in EXPORTERS.items() if e.removal == "upload"}
    # and a third run on the same scores (nothing else changed) removes exactly them
    third = _export(warehouse, exports, NEXT_DAY)
    manifest = json.loads((third.folder / "north" / "manifest.json").read_text())
    for entry in manifest["delta"]["destinations"]:
        if EXPORTERS[entry["destination"]].removal == "ttl":
            continue
        assert entry["against"] == {"as_of": NEXT_DAY.isoformat(),
                                    "export_version": second.version}
        assert (entry["added"], entry["removed"]) == (0, 1), entry
        assert "add" not in entry["files"]
        removed = _check_format(entry["destination"], "remove",
                                third.folder / "north" / entry["files"]["remove"])
        assert removed == [_form(entry["destination"], person)]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from marts.pending_removals").fetchone() == (0,)


def test_a_previous_file_that_is_not_the_one_exported_gives_no_delta(tmp_path, champion_store,
                                                                  every_platform):
    warehouse, exports = tmp_path / "warehouse.duckdb", tmp_path / "exports"
    build_warehouse(warehouse, make_population(400))
    score_persons(warehouse, AS_OF, champion_store.tracking_uri)
    first = _export(warehouse, exports, AS_OF)
    meta = first.folder / "north" / "meta.csv"
    meta.write_bytes(meta.read_bytes() + b"00000000-0000-0000-0000-00000000abcd\n")
    second = _export(warehouse, exports, AS_OF)
    manifest = json.loads((second.folder / "north" / "manifest.json").read_text())
    entries = {entry["destination"]: entry for entry in manifest["delta"]["destinations"]}
    assert "not the bytes its manifest lists" in entries["meta"]["no_delta"]
    assert "upload the full file" in entries["meta"]["no_delta"]
    assert entries["generic"]["added"] == 0 and entries["generic"]["removed"] == 0


def test_persons_drawn_into_the_next_days_holdout_are_among_those_who_left(
        tmp_path, champion_store, every_platform):
    # given two exports a day apart with a holdout (drawn anew for each date)
    days = export_two_days(tmp_path / "warehouse.duckdb", tmp_path / "exports", champion_store,
                           SegmentsToExport(parse_segments({**SETTINGS,
                                                            "holdout_fraction": 0.3})))
    with duckdb.connect(str(days.warehouse), read_only=True) as con:
        held_out = {row[0].lower() for row in con.execute(
            "select person_id from marts.segment_holdouts where as_of_date = ?",
            [NEXT_DAY]).fetchall()}
    sent = pl.read_csv(days.first.folder / "north" / "meta.csv", infer_schema=False)["madid"]
    manifest = json.loads((days.second.folder / "north" / "manifest.json").read_text())
    meta = next(e for e in manifest["delta"]["destinations"] if e["destination"] == "meta")
    removed = set(pl.read_csv(days.second.folder / "north" / "meta-remove.csv",
                              infer_schema=False)["madid"])
    # then everyone sent yesterday and held out today is in the remove file, counted as such
    moved_into_holdout = set(sent) & held_out
    assert moved_into_holdout and moved_into_holdout <= removed
    assert meta["removed_because"]["moved_into_holdout"] == len(moved_into_holdout)
    assert sum(meta["removed_because"].values()) == meta["removed"] == len(removed)
