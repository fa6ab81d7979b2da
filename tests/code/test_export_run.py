"""Export runs end to end: who is in the files, manifests, holdouts, minimum sizes, atomicity."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from activation_fixtures import (
    AS_OF,
    ChampionStore,
    copy_champion_into,
    scored_warehouse,
    shared_champion_store,
)
from typer.testing import CliRunner

from activation.definitions import parse_segments
from activation.export_run import NoScoresError, SegmentsToExport, export_segments
from activation.export_store import remove_abandoned_temp_folders
from activation.exporters.generic import GenericExporter
from norrut.cli.app import build_app
from warehouse.db import open_warehouse

REPO = Path(__file__).resolve().parents[2]
SETTINGS = {
    "min_audience_size": 20,
    "destination_settings": {"google_ads": {"app_id": "se.norrbotten.flyttahit"},
                             "the_trade_desk": {"advertiser_id": "adv123"}},
    "segments": [
        {"name": "top-half", "description": "The upper half.", "select": {"top_deciles": 5}},
        {"name": "everyone", "description": "All scored persons.", "select": {"min_score": 0}},
        {"name": "tiny", "description": "Too small to send.", "select": {"top_k": 10}},
    ],
}


@pytest.fixture(scope="session")
def champion_store(tmp_path_factory) -> ChampionStore:
    return shared_champion_store(tmp_path_factory)


def _settings(**changes) -> SegmentsToExport:
    return SegmentsToExport(parse_segments({**SETTINGS, **changes}))


def _ids_in(path: Path) -> set[str]:
    """Every id-like value in a segment file (CSV first column, or TTD DAIDs)."""
    if path.suffix == ".json":
        return {item["DAID"] for item in json.loads(path.read_text())["Items"]}
    with path.open(newline="") as handle:
        return {row[0] for row in list(csv.reader(handle))[1:]}


def _all_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and p.name not in ("manifest.json",
                                                                          "run.json")]


def _possible_forms(person_id: str) -> set[str]:
    lower = person_id.lower()
    return {person_id, lower, hashlib.sha256(lower.encode()).hexdigest()}


def test_withdrawn_and_opted_out_persons_are_in_no_file(tmp_path, champion_store):
    # given 400 persons, 5 who withdrew consent and 5 who opted out before scoring
    warehouse_path, population = scored_warehouse(tmp_path, champion_store, 400,
                                                   withdrawn_count=5, opted_out_count=5)
    excluded = population.ids("maid")[:10]
    # and 2 more who withdrew and 1 who opted out after the scores were made
    later = population.ids("maid")[10:13]
    with open_warehouse(warehouse_path) as con:
        for index, person_id in enumerate(later[:2]):
            con.execute("insert into raw.events (event_id, occurred_at, person_id, id_type, "
                        "event_type, consent, file_sha256) values "
                        "(?, timestamp '2026-10-31 12:00', ?, 'maid', 'view', false, 'late')",
                        [f"late-{index}", person_id])
        con.execute("insert into raw.suppressed_persons values (sha256(?), 'objection', "
                    "timestamp '2026-10-31 12:00', current_timestamp)", [later[2]])
    # when exporting everyone
    report = export_segments(warehouse_path, tmp_path / "exports", AS_OF, _settings())
    # then none of them is in any file, in any form
    forbidden = set().union(*(_possible_forms(p) for p in excluded + later))
    files = _all_files(report.folder)
    assert len(files) >= 8, [f.name for f in files]
    for path in files:
        assert not _ids_in(path) & forbidden, f"{path.name} holds an excluded person"
    everyone = next(s for s in report.segments if s.name == "everyone")
    assert everyone.selected == 400 - 13


def test_manifest_and_run_json_describe_the_files_exactly(tmp_path, champion_store):
    # given a scored warehouse, when exporting
    warehouse_path, _ = scored_warehouse(tmp_path, champion_store, 400)
    report = export_segments(warehouse_path, tmp_path / "exports", AS_OF, _settings())
    # then the layout is <exports>/<as_of>/v1/<segment>/
    assert report.folder == tmp_path / "exports" / "2026-11-01" / "v1"
    run = json.loads((report.folder / "run.json").read_text())
    assert run["manifest_version"] == 1 and run["version"] == 1 and run["as_of"] == "2026-11-01"
    assert run["model"]["version"] == champion_store.version
    assert run["segments_written"] == ["top-half", "everyone"]
    assert run["segments_skipped"][0]["segment"] == "tiny"
    assert "minimum audience size of 20" in run["segments_skipped"][0]["reason"]
    assert not (report.folder / "tiny").exists(), "a segment below the minimum is not written"
    # and every file's size and SHA-256 in the manifest match the file on disk
    manifest = json.loads((report.folder / "top-half" / "manifest.json").read_text())
    assert manifest["segment"]["name"] == "top-half"
    assert manifest["segment"]["definition"]["select"] == {"top_deciles": 5}
    assert manifest["model"] == {"name": "curious-about-working-here",
                                 "version": champion_store.version,
                                 "run_id": champion_store.run_id,
                                 "test_metrics": {"roc_auc": 0.8, "lift_at_10pct": 3.1}}
    assert manifest["as_of"] == "2026-11-01" and manifest["export_version"] == 1
    assert manifest["created_at"].endswith("Z")
    listed = {entry["file"] for entry in manifest["files"]}
    on_disk = {p.name for p in (report.folder / "top-half").iterdir()} - {"manifest.json"}
    assert listed == on_disk
    for entry in manifest["files"]:
        data = (report.folder / "top-half" / entry["file"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest(), entry["file"]
        assert entry["bytes"] == len(data)
    generic = next(e for e in manifest["files"] if e["destination"] == "generic")
    assert generic["rows"] == manifest["audience"]["exported"]
    audience = manifest["audience"]
    assert audience["selected"] == audience["holdout"] + audience["exported"]
    # TikTok and Snapchat need 1,000 persons: skipped, and the manifest says why
    skipped = {d["destination"]: d["reason"] for d in manifest["destinations_skipped"]}
    assert set(skipped) == {"tiktok", "snapchat"} and "1000" in skipped["tiktok"]
    assert manifest["settings"]["google_ads_app_id"] == "se.norrbotten.flyttahit"
    assert manifest["settings"] == {"google_ads_app_id": "se.norrbotten.flyttahit",
                                    "the_trade_desk_advertiser_id": "adv123",
                                    "the_trade_desk_ttl_minutes": 30 * 24 * 60}
    assert list(manifest) == [
        "manifest_version", "segment", "as_of", "export_version", "created_at", "model",
        "audience", "files", "destinations_skipped", "ids_left_out", "settings",
        "gains_by_decile", "interest_profile", "drivers", "delta"]
    assert [g["decile"] for g in manifest["gains_by_decile"]] == list(range(1, 11))
    assert manifest["interest_profile"]["themes"] and manifest["interest_profile"]["regions"]


def test_holdout_is_left_out_of_every_file_recorded_and_stable_across_versions(tmp_path,
                                                                               champion_store):
    # given a scored warehouse exported twice for the same date
    warehouse_path, _ = scored_warehouse(tmp_path, champion_store, 400)
    first = export_segments(warehouse_path, tmp_path / "exports", AS_OF, _settings())
    first_bytes = (first.folder / "top-half" / "generic.csv").read_bytes()
    second = export_segments(warehouse_path, tmp_path / "exports", AS_OF, _settings())
    # then the second run is v2 and v1 is untouched
    assert (first.version, second.version) == (1, 2)
    assert (first.folder / "top-half" / "generic.csv").read_bytes() == first_bytes
    # and the recorded holdout is the same persons, none of whom is in any file
    with open_warehouse(warehouse_path, read_only=True) as con:
        held = con.execute("select segment_name, person_id, export_version "
                           "from marts.segment_holdouts").pl()
    top_half = set(held.filter(held["segment_name"] == "top-half")["person_id"])
    outcome = next(s for s in first.segments if s.name == "top-half")
    assert len(top_half) == outcome.holdout > 0
    assert set(held["export_version"]) == {2}, "the rerun's record replaced the first"
    for report in (first, second):
        for path in _all_files(report.folder / "top-half"):
            forbidden = set().union(*(_possible_forms(p) for p in top_half))
            assert not _ids_in(path) & forbidden, f"{path.name} holds a held-out person"
    assert "tiny" not in set(held["segment_name"]), "unwritten segments record no holdout"


def test_minimum_audience_is_the_larger_of_k_and_the_platforms_own(tmp_path, champion_store):
    # given k = 5, below Meta's own minimum of 100
    warehouse_path, _ = scored_warehouse(tmp_path, champion_store, 400)
    settings = _settings(min_audience_size=5, segments=[
        {"name": "top-60", "description": "d", "select": {"top_k": 60}}])
    # when exporting 60 persons (about 40 with maids)
    report = export_segments(warehouse_path, tmp_path / "exports", AS_OF, settings)
    # then the generic file is written but Meta and Google are not: they need 100
    outcome = report.segments[0]
    assert outcome.written and [f.destination for f in outcome.files] == ["generic",
                                                                          "the_trade_desk"]
    reasons = {d["destination"]: d["reason"] for d in outcome.destinations_skipped}
    assert "minimum of 100" in reasons["meta"] and "minimum of 100" in reasons["google_ads"]
    assert "minimum of 1000" in reasons["tiktok"]


def test_a_crash_mid_export_leaves_nothing_behind(tmp_path, champion_store, monkeypatch):
    # given a scored warehouse and a generic exporter that fails after writing half a file
    warehouse_path, _ = scored_warehouse(tmp_path, champion_store, 400)
    original = GenericExporter.write
    calls = []

    def failing_write(self, rows, folder, context):
        calls.append(context.segment_name)
        if len(calls) == 2:
            (folder / "generic.csv").write_text("person_id,id_type\nhalf")
            raise OSError("disk full")
        return original(self, rows, folder, context)

    monkeypatch.setattr(GenericExporter, "write", failing_write)
    exports = tmp_path / "exports"
    # when the export fails on the second segment
    with pytest.raises(OSError, match="disk full"):
        export_segments(warehouse_path, exports, AS_OF, _settings())
    # then no version folder, no temporary folder and no holdout record remain
    assert list(exports.rglob("*")) == [], list(exports.rglob("*"))
    with open_warehouse(warehouse_path, read_only=True) as con:
        assert con.execute("select count(*) from marts.segment_holdouts").fetchone()[0] == 0
    # and the next run writes v1
    monkeypatch.setattr(GenericExporter, "write", original)
    assert export_segments(warehouse_path, exports, AS_OF, _settings()).version == 1


@pytest.mark.slow
def test_a_killed_export_process_leaves_no_version_folder(tmp_path, champion_store):
    # given an export running in another process that is killed while writing its files
    warehouse_path, _ = scored_warehouse(tmp_path, champion_store, 400)
    exports, ready = tmp_path / "exports", tmp_path / "ready"
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from activation.definitions import parse_segments
        from activation.export_run import SegmentsToExport, export_segments
        from activation.exporters.generic import GenericExporter
        original = GenericExporter.write
        def slow_write(self, rows, folder, context):
            written = original(self, rows, folder, context)
            Path({str(ready)!r}).touch()
            time.sleep(60)
            return written
        GenericExporter.write = slow_write
        export_segments({str(warehouse_path)!r}, {str(exports)!r},
                        __import__("datetime").date(2026, 11, 1),
                        SegmentsToExport(parse_segments({SETTINGS!r})))
    """)
    process = subprocess.Popen([sys.executable, "-c", script], cwd=REPO,
                               env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert process.poll() is None, "the export process ended before writing"
            assert time.monotonic() < deadline, "the export process never started writing"
            time.sleep(0.1)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    # then no version folder exists, only the hidden temporary folder of the dead run
    assert not (exports / "2026-11-01").exists()
    leftovers = [p.name for p in exports.iterdir()]
    assert len(leftovers) == 1 and leftovers[0].startswith(".tmp-export-")
    # and the next run removes it and writes v1
    report = export_segments(warehouse_path, exports, AS_OF, _settings())
    assert report.version == 1
    assert [p.name for p in exports.iterdir()] == ["2026-11-01"]


def test_exporting_a_date_without_scores_says_what_to_run(tmp_path, champion_store):
    warehouse_path, _ = scored_warehouse(tmp_path, champion_store, 30)
    with pytest.raises(NoScoresError, match="norrut score --as-of 2026-10-01"):
        export_segments(warehouse_path, tmp_path / "exports", AS_OF.replace(month=10),
                        _settings())
    assert not any((tmp_path / "exports").iterdir())


def test_cli_scores_and_exports_with_a_summary_table(home, champion_store,
                                                      tmp_path):
    # given a Norrut home with events, features and the champion
    from activation_fixtures import build_warehouse, make_population

    build_warehouse(home.warehouse_path, make_population(300))
    copy_champion_into(champion_store, home.mlflow_dir)
    segments_file = tmp_path / "segments.yaml"
    segments_file.write_text(json.dumps(SETTINGS), encoding="utf-8")
    runner = CliRunner()
    # when scoring with --out and exporting with --segments
    scored = runner.invoke(build_app(), ["score", "--as-of", "2026-11-01",
                                         "--out", str(tmp_path / "scores.csv")])
    exported = runner.invoke(build_app(), ["export", "--as-of", "2026-11-01",
                                           "--segments", str(segments_file)])
    # then both succeed and print what happened
    assert scored.exit_code == 0, scored.output
    assert "300" in scored.output
    assert (tmp_path / "scores.csv").read_text().startswith("person_id,id_type,score,rank,decile")
    assert exported.exit_code == 0, exported.output
    assert "top-half" in exported.output and "tiny" in exported.output
    assert "2 segment(s) written, 1 skipped" in exported.output
    assert (home.exports_dir / "2026-11-01" / "v1" / "run.json").exists()
    # and a bad segments file is a clear error that writes nothing
    segments_file.write_text("segments: []", encoding="utf-8")
    failed = runner.invoke(build_app(), ["export", "--as-of", "2026-11-01",
                                         "--segments", str(segments_file)])
    assert failed.exit_code == 2 and "segments" in failed.output
    assert not (home.exports_dir / "2026-11-01" / "v2").exists()


def test_only_temporary_folders_of_dead_runs_are_cleaned_up(tmp_path):
    # given the temporary folder of a live run (this process) and of a finished process
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
    live = tmp_path / f".tmp-export-2026-11-01-{os.getpid()}-0123abcd"
    dead = tmp_path / f".tmp-export-2026-11-01-{finished.stdout.strip()}-4567cdef"
    for folder in (live, dead):
        (folder / "top-half").mkdir(parents=True)
    # when cleaning up, then only the dead run's folder goes
    assert remove_abandoned_temp_folders(tmp_path) == [dead]
    assert live.exists() and not dead.exists()


def test_an_unusable_maid_stays_in_generic_but_no_ad_platform_file(tmp_path, champion_store):
    # given a population in which one device reported the all-zero advertising id
    import polars as pl
    from activation_fixtures import Population, build_warehouse, make_population

    from activation.scoring import score_persons

    zero = "00000000-0000-0000-0000-000000000000"
    persons = make_population(300).persons
    first_maid = persons.filter(pl.col("id_type") == "maid")["person_id"][0]
    persons = persons.with_columns(pl.col("person_id").replace(first_maid, zero))
    warehouse_path = tmp_path / "warehouse.duckdb"
    build_warehouse(warehouse_path, Population(persons))
    score_persons(warehouse_path, AS_OF, champion_store.tracking_uri)
    settings = _settings(holdout_fraction=0.0, segments=[
        {"name": "everyone", "description": "d", "select": {"min_score": 0}}])
    # when exporting everyone
    report = export_segments(warehouse_path, tmp_path / "exports", AS_OF, settings)
    # then the zero id is in the generic file only, and the manifest counts it per platform
    folder = report.folder / "everyone"
    assert zero in _ids_in(folder / "generic.csv")
    for name in ("meta.csv", "google_ads.csv", "the_trade_desk.json"):
        assert zero not in _ids_in(folder / name), name
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["ids_left_out"] == {"meta": 1, "google_ads": 1, "the_trade_desk": 1}
