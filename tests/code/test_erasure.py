"""Erasure that leaves no trace (issue 16, breaks 2, 3, 4, 9 and 10; shared/CONTRACT.md §3):
one canonical form of a MAID for opt-outs and exports, a warehouse file rewritten so deleted
rows leave no bytes, earlier export files rewritten or withdrawn, no leftover temporary export
folder, and nothing of the person in any file of the home."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from activation_fixtures import (
    AS_OF,
    ChampionStore,
    build_warehouse,
    make_population,
    scored_warehouse,
    shared_champion_store,
)

import warehouse.compaction
from activation.definitions import parse_segments
from activation.export_run import SegmentsToExport, export_segments
from activation.exporters import EXPORTERS
from activation.exporters.the_trade_desk import TheTradeDeskExporter
from tests.event_files import good_event, write_jsonl
from warehouse.compaction import compact_warehouse, fresh_path_for
from warehouse.db import open_warehouse, spill_folder_of
from warehouse.ingest.loading import ingest_inbox
from warehouse.optout import apply_optouts

# The repro id (break 2).
REPRO_MAID = "fb46f81c-1000-448a-bd06-be27838dce0e"
SETTINGS = {
    "min_audience_size": 20,
    "holdout_fraction": 0.1,
    "destination_settings": {"google_ads": {"app_id": "se.norrbotten.flyttahit"},
                             "the_trade_desk": {"advertiser_id": "adv123"}},
    "segments": [
        {"name": "everyone", "description": "All scored persons.", "select": {"min_score": 0}},
        {"name": "top-half", "description": "The upper half.", "select": {"top_deciles": 5}},
    ],
}


@pytest.fixture(scope="session")
def champion_store(tmp_path_factory) -> ChampionStore:
    return shared_champion_store(tmp_path_factory)


def _export(home, **changes):
    return export_segments(home.warehouse_path, home.exports_dir, AS_OF,
                           SegmentsToExport(parse_segments({**SETTINGS, **changes})))


def _write_optouts(path: Path, person_ids: list[str]) -> Path:
    path.write_text("person_id,requested_at,kind\n"
                    + "".join(f"{p},2026-11-10T09:00:00Z,erasure\n" for p in person_ids),
                    encoding="utf-8")
    return path


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _written_forms(person_id: str) -> set[str]:
    """Every form an exporter writes an id in: as stored, lower-cased, SHA-256 of lower-cased."""
    return {person_id, person_id.lower(), _sha256(person_id.lower())}


def _ids_of_every_file(exports_dir: Path) -> dict[Path, list[str]]:
    """The ids in every destination file of every export run, read as its exporter wrote it."""
    found = {}
    for manifest_path in exports_dir.glob("*/v*/*/manifest.json"):
        manifest = json.loads(manifest_path.read_text())
        for entry in manifest["files"]:
            path = manifest_path.parent / entry["file"]
            found[path] = EXPORTERS[entry["destination"]]().read_ids(path).to_list()
    return found


def _files_holding(root: Path, needles: set[str], skip: tuple[str, ...] = ()) -> list[str]:
    """Files under `root` whose raw bytes contain any needle (names in `skip` left out)."""
    holding = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.is_symlink() or path.name in skip:
            continue
        data = path.read_bytes()
        hits = [needle for needle in needles if needle.encode() in data]
        if hits:
            holding.append(f"{path.relative_to(root)}: {hits}")
    return holding


def _maid_stored_as(population, upper: bool) -> list[str]:
    return [p for p in population.ids("maid") if (p == p.upper()) == upper]


def _run_optout_flow(home, optouts: Path):
    from flows.optout import optout
    from warehouse.settings import OptoutSettings

    return optout(OptoutSettings(home=str(home.root), optouts_csv=str(optouts)))


# ---- break 2: an upper-case mobile id gets round an erasure ----------------------------------

def test_an_upper_case_maid_is_dropped_after_its_lower_case_opt_out_and_never_exported(
        home, tmp_path, champion_store):
    # given a scored world holding the MAID (lower case) among 2000 persons
    population = make_population(2000)
    persons = population.persons.with_columns(
        pl.col("person_id").replace(_maid_stored_as(population, upper=False)[0], REPRO_MAID))
    population = type(population)(persons)
    build_warehouse(home.warehouse_path, population)
    from activation.scoring import score_persons

    score_persons(home.warehouse_path, AS_OF, champion_store.tracking_uri)
    # when the lower-case id opts out, then an event for the upper-case id arrives
    apply_optouts(home.warehouse_path, _write_optouts(tmp_path / "o.csv", [REPRO_MAID]))
    write_jsonl(tmp_path / "inbox" / "late.jsonl",
                [good_event(1, person_id=REPRO_MAID.upper(), id_type="maid")])
    later = ingest_inbox(home.warehouse_path, tmp_path / "inbox")
    report = _export(home)
    # then the event is dropped as an opted-out person's, not loaded
    assert (later.suppressed_dropped, later.rows_loaded) == (1, 0)
    # and the next export's Meta, TikTok and Snapchat files do not hold it in any form
    folder = report.folder / "everyone"
    written = {entry["destination"] for entry in
               json.loads((folder / "manifest.json").read_text())["files"]}
    assert {"meta", "tiktok", "snapchat"} <= written, written
    forms = _written_forms(REPRO_MAID) | {REPRO_MAID.upper()}
    for path, ids in _ids_of_every_file(home.exports_dir).items():
        assert not forms & set(ids), f"{path.name} holds the opted-out MAID"


def test_an_upper_case_row_in_the_opt_out_file_removes_the_lower_case_person(home, tmp_path):
    # given events of a lower-case MAID
    write_jsonl(tmp_path / "inbox" / "a.jsonl",
                [good_event(i, person_id=REPRO_MAID, id_type="maid") for i in range(3)]
                + [good_event(10 + i) for i in range(7)])
    ingest_inbox(home.warehouse_path, tmp_path / "inbox")
    # when the opt-out file names it in upper case
    report = apply_optouts(home.warehouse_path,
                           _write_optouts(tmp_path / "o.csv", [REPRO_MAID.upper()]))
    # then its rows are gone, and the suppression key is that of the canonical (lower-case) id
    assert report.rows_removed["raw.events"] == 3
    with duckdb.connect(str(home.warehouse_path), read_only=True) as con:
        left = con.execute("select count(*) from raw.events where lower(person_id) = ?",
                           [REPRO_MAID]).fetchone()[0]
        keys = [row[0] for row in con.execute(
            "select person_key from raw.suppressed_persons").fetchall()]
    assert left == 0
    assert keys == [_sha256(REPRO_MAID)]


def test_upper_and_lower_case_rows_of_one_maid_are_one_person(home, tmp_path):
    # given an opt-out file naming one MAID twice, in two cases
    write_jsonl(tmp_path / "inbox" / "a.jsonl", [good_event(i) for i in range(7)])
    ingest_inbox(home.warehouse_path, tmp_path / "inbox")
    optouts = _write_optouts(tmp_path / "o.csv", [REPRO_MAID, REPRO_MAID.upper()])
    # when applied, then it is one person on the suppression list
    report = apply_optouts(home.warehouse_path, optouts)
    assert (report.persons_requested, report.erasures) == (1, 1)


# ---- break 3: one case variant stops every export ---------------------------------------------

def test_a_case_variant_in_a_pre_canonical_warehouse_is_exported_once(home, champion_store):
    # given a warehouse holding an exported MAID, and two events for an upper-cased copy of it
    # inserted directly, as a warehouse older than canonical storage may hold them
    from activation.scoring import score_persons
    from features.build import build_features

    population = make_population(2000)
    build_warehouse(home.warehouse_path, population)
    maid = _maid_stored_as(population, upper=False)[0]
    with open_warehouse(home.warehouse_path) as con:
        con.execute("""
            insert into raw.events by name
            select 'legacy-' || n as event_id, occurred_at + interval 1 hour as occurred_at,
                   upper(person_id) as person_id, id_type, event_type, region, consent,
                   'legacy' as file_sha256
            from raw.events, range(2) as numbers(n) where person_id = ?
        """, [maid])
    # when features are built, everyone is scored and exported
    build_features(home.warehouse_path, AS_OF)
    score_persons(home.warehouse_path, AS_OF, champion_store.tracking_uri)
    report = _export(home, holdout_fraction=0.0)
    # then the export succeeds and the person is in each file once
    everyone = report.folder / "everyone"
    manifest = json.loads((everyone / "manifest.json").read_text())
    assert {entry["destination"] for entry in manifest["files"]} == set(EXPORTERS)
    for entry in manifest["files"]:
        ids = EXPORTERS[entry["destination"]]().read_ids(everyone / entry["file"]).to_list()
        assert sum(value in _written_forms(maid) for value in ids) == 1, entry["file"]
        assert len(ids) == len(set(ids)) == entry["rows"], entry["file"]


# ---- break 4: erased ids stay in the DuckDB file's bytes --------------------------------------

def _catalog_of(path: Path) -> list[list[tuple]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return [con.execute(query).fetchall() for query in (
            "select sql from duckdb_tables() order by all",
            "select constraint_text from duckdb_constraints() order by all",
            "select sql from duckdb_indexes() order by all",
            "select sql from duckdb_views() where not internal order by all",
            "select schema_name, sequence_name, last_value from duckdb_sequences() order by all",
            ("select schema_name, function_name, macro_definition from duckdb_functions() "
             "where not internal order by all"),
            "select version, description from meta.schema_version order by all",
            "select * from meta.person_tables order by all",
        )]


def _counts_of(path: Path) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute("select schema_name || '.' || table_name from duckdb_tables() "
                             "where not temporary order by 1").fetchall()
        return {name: con.execute(f"select count(*) from {name}").fetchone()[0]
                for (name,) in tables}


@pytest.fixture
def erased_warehouse(home, tmp_path):
    """A warehouse from which a cookie id was erased (its bytes still in the file)."""
    write_jsonl(tmp_path / "inbox" / "a.jsonl", [good_event(i) for i in range(700)])
    ingest_inbox(home.warehouse_path, tmp_path / "inbox")
    apply_optouts(home.warehouse_path, _write_optouts(tmp_path / "o.csv", ["cookie-000003"]))
    return home.warehouse_path


def test_compaction_leaves_no_byte_of_an_erased_id_and_keeps_the_schema(erased_warehouse):
    # given a warehouse whose file still holds an erased id in deleted rows
    assert b"cookie-000003" in erased_warehouse.read_bytes(), "the repro needs the residue"
    catalog, counts = _catalog_of(erased_warehouse), _counts_of(erased_warehouse)
    # when it is compacted
    result = compact_warehouse(erased_warehouse)
    # then not one byte of the id is left, and schema, keys, views, macros, meta and rows survive
    assert b"cookie-000003" not in erased_warehouse.read_bytes()
    assert _catalog_of(erased_warehouse) == catalog
    assert _counts_of(erased_warehouse) == counts
    assert result.bytes_after > 0
    assert [p.name for p in erased_warehouse.parent.iterdir()
            if p.name.startswith((".warehouse", "warehouse.duckdb."))] == []
    # and the primary keys still hold
    with open_warehouse(erased_warehouse) as con, pytest.raises(duckdb.ConstraintException):
        con.execute("insert into raw.suppressed_persons select * from raw.suppressed_persons")


def test_a_crash_mid_compaction_leaves_the_old_warehouse_whole(erased_warehouse, monkeypatch):
    # given a compaction that dies at the worst moment: the fresh copy complete, not yet renamed
    counts = _counts_of(erased_warehouse)

    def crash(path):
        raise OSError("power cut")

    monkeypatch.setattr(warehouse.compaction, "_sync_file", crash)
    with pytest.raises(OSError, match="power cut"):
        compact_warehouse(erased_warehouse)
    # then the warehouse is the old one, readable, with the same counts, and no copy is left
    assert _counts_of(erased_warehouse) == counts
    assert not fresh_path_for(erased_warehouse).exists()
    # and the next compaction succeeds
    monkeypatch.undo()
    compact_warehouse(erased_warehouse)
    assert _counts_of(erased_warehouse) == counts
    assert b"cookie-000003" not in erased_warehouse.read_bytes()


def test_a_copy_left_by_a_killed_compaction_is_removed_by_the_next(erased_warehouse):
    # given the fresh file a kill -9 left half-written beside the warehouse
    leftover = fresh_path_for(erased_warehouse)
    leftover.write_bytes(b"cookie-000003 half a database")
    # when compacting, then it is gone and the warehouse is whole
    compact_warehouse(erased_warehouse)
    assert not leftover.exists()
    assert _counts_of(erased_warehouse)["raw.events"] == 600


def test_the_spill_folder_keeps_no_file_after_compaction(erased_warehouse):
    # given a spill file DuckDB left in the warehouse's temporary folder
    spill = spill_folder_of(erased_warehouse) / "duckdb_temp_storage-0.tmp"
    spill.parent.mkdir(parents=True, exist_ok=True)
    spill.write_bytes(b"cookie-000003")
    # when compacting, then the folder is empty
    assert compact_warehouse(erased_warehouse).spill_files_removed == 1
    assert list(spill.parent.iterdir()) == []


# ---- break 10: exports made before an opt-out stay downloadable -------------------------------

@pytest.fixture
def exported_home(home, champion_store, monkeypatch):
    """A home with a scored warehouse of 2000 persons, exported once to every destination, with
    The Trade Desk split into several parts."""
    _, population = scored_warehouse(home.root, champion_store, 2000)
    monkeypatch.setattr(TheTradeDeskExporter, "max_body_bytes", 20_000)
    report = _export(home)
    return home, population, report


def _persons_in_every_file(exports_dir: Path, population) -> tuple[str, str]:
    """A MAID stored in upper case (legacy) that every destination of every segment got (in
    one of its parts), and a cookie in generic."""
    ids = _ids_of_every_file(exports_dir)
    by_destination: dict[tuple[Path, str], set[str]] = {}
    for path, values in ids.items():
        destination = path.name.split(".")[0].split("-")[0]
        by_destination.setdefault((path.parent, destination), set()).update(values)
    everywhere = [maid for maid in _maid_stored_as(population, upper=True)
                  if all(_written_forms(maid) & values for values in by_destination.values())]
    generic = next(values for path, values in ids.items() if path.name == "generic.csv")
    cookie = next(p for p in population.ids("cookie") if p in generic)
    return everywhere[0], cookie


def test_an_export_made_before_an_opt_out_is_rewritten_without_the_persons(
        prefect_harness, exported_home, tmp_path):
    from activation.lift import measure_lift
    from portal.exports import find_run, open_file

    home, population, report = exported_home
    maid, cookie = _persons_in_every_file(home.exports_dir, population)
    forms = _written_forms(maid) | _written_forms(cookie)
    before = {path: path.read_bytes() for path in home.exports_dir.rglob("*") if path.is_file()}
    holding = {path.relative_to(home.exports_dir).as_posix(): sum(v in forms for v in ids)
               for path, ids in _ids_of_every_file(home.exports_dir).items()
               if forms & set(ids)}
    # when both opt out (the MAID named as the device spelled it)
    result = _run_optout_flow(home, _write_optouts(tmp_path / "o.csv", [maid, cookie]))
    # then no export file holds either of them in any form
    assert _files_holding(home.exports_dir, forms) == []
    # and exactly the files that held them were rewritten, the others are untouched
    assert sorted(result.export_files_rewritten) == sorted(holding)
    assert result.export_files_withdrawn == []
    for path, data in before.items():
        relative = path.relative_to(home.exports_dir).as_posix()
        if relative not in holding and path.name != "manifest.json":
            assert path.read_bytes() == data, f"{relative} changed"
    # and every manifest describes its files' new bytes, and records the erasure
    for manifest_path in home.exports_dir.glob("*/v*/*/manifest.json"):
        manifest = json.loads(manifest_path.read_text())
        for entry in manifest["files"]:
            path = manifest_path.parent / entry["file"]
            assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest(), path
            assert entry["bytes"] == path.stat().st_size, path
            assert entry["rows"] == len(EXPORTERS[entry["destination"]]().read_ids(path)), path
        (erasure,) = manifest["erasures"]
        assert erasure["optout_run_id"] == result.run_id
        assert erasure["rows_removed"] == sum(
            rows for file, rows in holding.items()
            if file.startswith(manifest_path.parent.relative_to(home.exports_dir).as_posix()))
    # and the audit names each rewritten file with the rows that left it
    with duckdb.connect(str(home.warehouse_path), read_only=True) as con:
        audit = dict(con.execute(
            "select export_file, rows_removed from audit.optout_export_files "
            "where run_id = ? and action = 'rewritten'", [result.run_id]).fetchall())
    assert audit == holding
    # and the portal still serves a rewritten file, and lift still verifies it
    segment = find_run(home.exports_dir, AS_OF.isoformat(), report.version).find_segment("everyone")
    assert segment.file_problems == []
    meta = segment.find_file("meta", 1)
    with open_file(segment, meta) as handle:
        assert handle.read() == (segment.folder / "meta.csv").read_bytes()
    for destination in ("meta", "snapchat", "the_trade_desk", "generic"):
        lift = measure_lift(home.warehouse_path, home.exports_dir, "everyone", AS_OF,
                            destination, start=AS_OF, end=AS_OF + timedelta(days=1))
        assert lift.treated_ids_opted_out == 0, destination


def test_a_file_that_cannot_be_rewritten_safely_is_withdrawn(prefect_harness, exported_home,
                                                             tmp_path):
    from portal.exports import find_run

    home, population, report = exported_home
    maid, _ = _persons_in_every_file(home.exports_dir, population)
    # given a Meta file changed after the export (its bytes are not the manifest's)
    meta = report.folder / "everyone" / "meta.csv"
    meta.write_bytes(meta.read_bytes() + b"00000000-0000-0000-0000-00000000abcd\n")
    # when a person in it opts out
    result = _run_optout_flow(home, _write_optouts(tmp_path / "o.csv", [maid]))
    # then the file is withdrawn: deleted, out of the manifest's files, with the reason
    assert not meta.exists()
    assert result.export_files_withdrawn == [f"{AS_OF.isoformat()}/v1/everyone/meta.csv"]
    manifest = json.loads((meta.parent / "manifest.json").read_text())
    assert "meta" not in {entry["destination"] for entry in manifest["files"]}
    (withdrawn,) = manifest["files_withdrawn"]
    assert withdrawn["file"] == "meta.csv" and "SHA-256" in withdrawn["reason"]
    # and the portal no longer offers it; the audit says it was withdrawn
    segment = find_run(home.exports_dir, AS_OF.isoformat(), 1).find_segment("everyone")
    assert segment.find_file("meta", 1) is None
    with duckdb.connect(str(home.warehouse_path), read_only=True) as con:
        actions = con.execute("select action, reason from audit.optout_export_files "
                              "where export_file like '%/meta.csv'").fetchall()
    assert actions[0][0] == "withdrawn" and "SHA-256" in actions[0][1]


def test_the_files_of_a_segment_whose_manifest_cannot_be_read_are_withdrawn(exported_home,
                                                                            tmp_path):
    from activation.export_rewrite import remove_persons_from_exports

    home, population, report = exported_home
    maid, _ = _persons_in_every_file(home.exports_dir, population)
    # given a segment whose manifest was damaged: its files cannot be checked against it
    top_half = report.folder / "top-half"
    (top_half / "manifest.json").write_text("{not json")
    data_files = sorted(p.name for p in top_half.iterdir() if p.name != "manifest.json")
    # when a person opts out and earlier exports are cleaned
    optout = apply_optouts(home.warehouse_path, _write_optouts(tmp_path / "o.csv", [maid]))
    changes = remove_persons_from_exports(home.warehouse_path, home.exports_dir, optout.run_id)
    # then that segment's files are all withdrawn (the portal could serve none of them), and
    # the readable segment's files are rewritten
    withdrawn = sorted(Path(c.export_file).name for c in changes if c.action == "withdrawn")
    assert withdrawn == data_files
    assert [p.name for p in top_half.iterdir()] == ["manifest.json"]
    assert {c.action for c in changes if "/everyone/" in c.export_file} == {"rewritten"}


def test_the_hidden_folder_of_a_killed_export_is_gone_after_an_opt_out(
        prefect_harness, home, tmp_path):
    # given the temporary folder a kill -9 mid-export left, holding person ids
    write_jsonl(tmp_path / "inbox" / "a.jsonl", [good_event(i) for i in range(14)])
    ingest_inbox(home.warehouse_path, tmp_path / "inbox")
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
    abandoned = home.exports_dir / f".tmp-export-2026-11-01-{finished.stdout.strip()}-0badc0de"
    (abandoned / "everyone").mkdir(parents=True)
    (abandoned / "everyone" / "generic.csv").write_text("person_id\ncookie-000003\n")
    # when an opt-out runs
    result = _run_optout_flow(home, _write_optouts(tmp_path / "o.csv", ["cookie-000003"]))
    # then the folder is gone, and counted
    assert not abandoned.exists()
    assert result.temp_export_folders_removed == 1


# ---- break 4 and 9, end to end: grep every file of the home -----------------------------------

@pytest.mark.slow
def test_an_erased_person_is_in_no_byte_of_any_file_of_the_home(
        prefect_harness, home, tmp_path):
    from typer.testing import CliRunner

    from flows.pipeline import pipeline
    from flows.settings import PipelineSettings
    from norrut.cli.app import build_app
    from simulator.world import WorldSettings, simulate_world

    # given a home where the whole pipeline ran on a simulated world: ingest, features,
    # training (MLflow), scoring and export
    world = tmp_path / "world"
    simulate_world(world, WorldSettings(persons=3000, days=90, faults=True, files_per_format=1))
    state = pipeline(PipelineSettings(home=str(home.root), inbox=str(world / "inbox"),
                                      catalog=str(world / "catalog.csv")), return_state=True)
    assert state.is_completed(), state
    generic = next(home.exports_dir.glob("*/v1/*/generic.csv"))
    rows = pl.read_csv(generic, infer_schema=False)
    cookie = rows.filter(pl.col("id_type") == "cookie")["person_id"][0]
    maid = rows.filter(pl.col("id_type") == "maid")["person_id"][0]
    forms = {cookie, maid, maid.upper(), maid.lower()}
    assert _files_holding(home.root, forms), "the ids are in the home before the opt-out"
    # when both opt out with `norrut optout`
    optouts = _write_optouts(tmp_path / "o.csv", [cookie, maid.upper()])
    result = CliRunner().invoke(build_app(), ["--home", str(home.root), "optout", str(optouts)])
    assert result.exit_code == 0, result.output
    assert "earlier export files rewritten" in result.output
    # then no file under the home (any log, MLflow store and artifacts, exports, reports,
    # portal files) but the warehouse holds either id as is or lower-cased
    assert _files_holding(home.root, forms, skip=("warehouse.duckdb",)) == []
    # and their SHA-256 is only in the warehouse's suppression list (needed to drop them later)
    hashes = {_sha256(cookie), _sha256(maid.lower())}
    assert _files_holding(home.root, hashes, skip=("warehouse.duckdb",)) == []
    with duckdb.connect(str(home.warehouse_path), read_only=True) as con:
        keys = {row[0] for row in con.execute(
            "select person_key from raw.suppressed_persons").fetchall()}
        # and the warehouse keeps of them only the identifiers already sent to platforms that
        # take removal uploads, each as it was sent, until the next remove file holds them
        waiting = con.execute("select destination, platform_id from marts.pending_removals"
                              ).fetchall()
    assert hashes <= keys
    assert waiting and {platform_id for _, platform_id in waiting} <= (
        {cookie, maid.lower(), _sha256(maid.lower())})
    assert {destination for destination, _ in waiting} <= {
        name for name, exporter in EXPORTERS.items() if exporter.removal == "upload"}
    assert not any(name.endswith(".wal") for name in os.listdir(home.root))
    # when the next export writes the remove files, and the warehouse is next compacted
    as_of = generic.parent.parent.parent.name
    result = CliRunner().invoke(build_app(), ["--home", str(home.root), "export",
                                              "--as-of", as_of])
    assert result.exit_code == 0, result.output
    compact_warehouse(home.warehouse_path)
    # then nothing waits any more, and only the remove files (the platforms' notice to
    # delete them) hold the ids sent
    with duckdb.connect(str(home.warehouse_path), read_only=True) as con:
        assert con.execute("select count(*) from marts.pending_removals").fetchone() == (0,)
    holding = _files_holding(home.root, forms | hashes, skip=("warehouse.duckdb",))
    assert holding and all("-remove." in line.split(":")[0] for line in holding), holding
    # and the compacted warehouse file keeps no byte of them
    warehouse_bytes = home.warehouse_path.read_bytes()
    assert not [form for form in forms if form.encode() in warehouse_bytes]
