"""Campaign lift on a real scored and exported warehouse: who counts as treated and held out,
conversions, the lift and its interval, opt-outs, the file the portal reads, and bad input."""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest
from activation_fixtures import (
    AS_OF,
    build_warehouse,
    make_population,
    scored_warehouse,
    shared_champion_store,
)
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    FlowFilter,
    FlowFilterName,
)
from typer.testing import CliRunner

from activation.definitions import destination_names, parse_segments
from activation.export_run import SegmentsToExport, export_segments
from activation.exporters import EXPORTERS
from activation.exporters.base import ExportContext
from activation.lift import LiftInputError, ids_in_file, measure_lift
from norrut.cli.app import build_app
from portal.lift import list_lift_results
from warehouse.db import open_warehouse
from warehouse.optout import apply_optouts
from warehouse.sql_files import read_sql

SEGMENTS = {
    "min_audience_size": 20,
    "holdout_fraction": 0.25,
    "destinations": ["generic", "meta", "tiktok"],
    "segments": [
        {"name": "everyone", "description": "All scored persons.", "select": {"min_score": 0}},
    ],
}
MEASURED_AT = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
IN_PERIOD = datetime(2026, 11, 5, 12, 0)
END = date(2026, 11, 20)


@dataclass(frozen=True)
class ExportedWorld:
    """A scored warehouse with one export run, and who ended up where."""

    warehouse_path: Path
    exports_dir: Path
    treated_meta: list[str]      # person_ids (warehouse spelling) in meta.csv
    treated_generic: list[str]   # person_ids in generic.csv
    holdout: pl.DataFrame        # person_id, id_type of marts.segment_holdouts


@pytest.fixture(scope="module")
def exported_template(tmp_path_factory) -> ExportedWorld:
    """Built once: 400 scored persons exported to generic and meta with a 25 % holdout."""
    store = shared_champion_store(tmp_path_factory)
    folder = tmp_path_factory.mktemp("lift-template")
    warehouse_path, population = scored_warehouse(folder, store, 400)
    exports_dir = folder / "exports"
    report = export_segments(warehouse_path, exports_dir, AS_OF,
                             SegmentsToExport(parse_segments(SEGMENTS)))
    segment_folder = report.folder / "everyone"
    by_lower = {person.lower(): person for person in population.ids()}
    treated_meta = [by_lower[i] for i in ids_in_file(segment_folder / "meta.csv", "meta")]
    treated_generic = ids_in_file(segment_folder / "generic.csv", "generic")
    with open_warehouse(warehouse_path, read_only=True) as con:
        holdout = con.execute("select person_id, id_type from marts.segment_holdouts "
                              "order by person_id").pl()
    return ExportedWorld(warehouse_path, exports_dir, treated_meta, treated_generic, holdout)


@pytest.fixture
def world(exported_template, tmp_path) -> ExportedWorld:
    """A private copy of the exported warehouse and folders, free to change."""
    warehouse_path = tmp_path / "warehouse.duckdb"
    shutil.copyfile(exported_template.warehouse_path, warehouse_path)
    exports_dir = tmp_path / "exports"
    shutil.copytree(exported_template.exports_dir, exports_dir)
    return ExportedWorld(warehouse_path, exports_dir, exported_template.treated_meta,
                         exported_template.treated_generic, exported_template.holdout)


def _add_events(warehouse_path: Path, events: list[tuple[str, str, datetime]]) -> None:
    """(person_id, event_type, occurred_at) rows, consent true, id_type as the person has."""
    with open_warehouse(warehouse_path) as con:
        for index, (person_id, event_type, occurred_at) in enumerate(events):
            con.execute(
                "insert into raw.events (event_id, occurred_at, person_id, id_type, event_type, "
                "consent, file_sha256) select ?, ?, ?, any_value(id_type), ?, true, 'lift-test' "
                "from raw.events where person_id = ?",
                [f"lift-{index}-{person_id}", occurred_at, person_id, event_type, person_id])


def _maids(frame: pl.DataFrame) -> list[str]:
    return frame.filter(pl.col("id_type") == "maid")["person_id"].to_list()


def _wald_log_ratio_interval(a: int, n1: int, c: int, n2: int) -> tuple[float, float]:
    """Written out here independently of the code under test."""
    centre = math.log(a / n1) - math.log(c / n2)
    half_width = 1.959963984540054 * math.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n2)
    return math.exp(centre - half_width) - 1, math.exp(centre + half_width) - 1


def _measure(world: ExportedWorld, destination: str = "meta", **options):
    return measure_lift(world.warehouse_path, world.exports_dir, "everyone", AS_OF, destination,
                        measured_at=MEASURED_AT, **options)


def test_counts_lift_and_interval_on_meta_are_exact(world):
    # given the persons sent to Meta, and the held-out persons Meta could have reached (maids)
    treated, held_out = world.treated_meta, _maids(world.holdout)
    cookie_held_out = world.holdout.filter(pl.col("id_type") != "maid")["person_id"].to_list()
    upper_case = [p for p in treated if p != p.lower()]
    assert upper_case and cookie_held_out, "the fixture needs mixed-case maids and cookies"
    converters = [upper_case[0]] + [p for p in treated if p != upper_case[0]][:5]
    # and intent events: 6 treated converters (one of them twice, one spelled upper-case in the
    # warehouse and lower-case in meta.csv), 2 held-out maids and 1 held-out cookie
    events = [(p, "job_click", IN_PERIOD) for p in converters]
    events += [(converters[1], "signup", IN_PERIOD)]
    events += [(p, "guide_download", IN_PERIOD) for p in held_out[:2]]
    events += [(cookie_held_out[0], "inquiry", IN_PERIOD)]
    # and events that must not count: engagement only, intent on the as-of date (before the
    # period), intent after the period's end
    events += [(treated[10], "click", IN_PERIOD),
               (treated[11], "job_click", datetime(2026, 11, 1, 9, 0)),
               (treated[12], "fair_registration", datetime(2026, 11, 21, 0, 0)),
               (held_out[5], "inquiry", datetime(2026, 11, 21, 8, 0))]
    _add_events(world.warehouse_path, events)
    # when measuring from the day after the as-of date to 2026-11-20
    result = _measure(world, end=END)
    # then treated are the persons in meta.csv and the holdout its maids, with exact counts
    assert (result.treated.persons, result.treated.converted) == (len(treated), 6)
    assert (result.holdout.persons, result.holdout.converted) == (len(held_out), 2)
    assert result.holdout_unreachable == len(cookie_held_out)
    assert (result.start, result.end) == (date(2026, 11, 2), END)
    # and the lift and its interval are the log-ratio Wald interval's
    expected_lift = (6 / len(treated)) / (2 / len(held_out)) - 1
    assert result.relative_lift == pytest.approx(expected_lift, abs=1e-6)
    low, high = _wald_log_ratio_interval(6, len(treated), 2, len(held_out))
    assert result.relative_lift_ci95 == (pytest.approx(low, abs=1e-6),
                                         pytest.approx(high, abs=1e-6))
    # and the file says exactly that, in the documented format
    document = json.loads(result.path.read_text())
    assert result.path == world.exports_dir / "lift" / "everyone-2026-11-01-v1-meta.json"
    assert document == {
        "lift_version": 1, "campaign": "everyone-2026-11-01-v1-meta", "segment": "everyone",
        "as_of": "2026-11-01", "export_version": 1, "destination": "meta",
        "period": {"start": "2026-11-02", "end": "2026-11-20"},
        "measured_at": "2026-12-02T06:00:00Z",
        "treated": {"persons": len(treated), "converted": 6},
        "holdout": {"persons": len(held_out), "converted": 2},
        "relative_lift": round(expected_lift, 6),
        "relative_lift_ci95": [round(low, 6), round(high, 6)],
    }


def test_generic_counts_every_id_type_and_the_period_ends_at_the_last_event(world):
    # given intent events of a treated cookie, a held-out cookie and a held-out maid, the last
    # on 2026-11-09
    cookie_treated = next(p for p in world.treated_generic if p.startswith("coo"))
    held_cookie = world.holdout.filter(pl.col("id_type") == "cookie")["person_id"][0]
    held_maid = _maids(world.holdout)[0]
    _add_events(world.warehouse_path, [
        (cookie_treated, "job_click", IN_PERIOD),
        (held_cookie, "signup", IN_PERIOD),
        (held_maid, "inquiry", datetime(2026, 11, 9, 23, 59)),
    ])
    # when measuring the generic file without an end
    result = _measure(world, "generic")
    # then every held-out person counts, and the period ends on the newest event's day
    assert (result.treated.persons, result.treated.converted) == (len(world.treated_generic), 1)
    assert (result.holdout.persons, result.holdout.converted) == (world.holdout.height, 2)
    assert result.holdout_unreachable == 0
    assert result.end == date(2026, 11, 9)


def test_only_the_chosen_intent_types_count(world):
    # given one treated job_click and one treated signup
    _add_events(world.warehouse_path, [(world.treated_meta[0], "job_click", IN_PERIOD),
                                       (world.treated_meta[1], "signup", IN_PERIOD)])
    # when only signups count
    result = _measure(world, end=END, intent_types=("signup",))
    # then one treated person converted
    assert result.treated.converted == 1


def test_without_holdout_conversions_lift_and_interval_are_left_out(world):
    # given conversions among the treated only
    _add_events(world.warehouse_path, [(p, "job_click", IN_PERIOD) for p in world.treated_meta[:3]])
    # when measuring
    result = _measure(world, end=END)
    # then neither a lift nor an interval is invented, and the portal still reads the counts
    assert (result.treated.converted, result.holdout.converted) == (3, 0)
    assert result.relative_lift is None and result.relative_lift_ci95 is None
    document = json.loads(result.path.read_text())
    assert "relative_lift" not in document and "relative_lift_ci95" not in document
    [shown] = list_lift_results(world.exports_dir)
    assert shown.problem is None and shown.relative_lift is None
    assert shown.confidence_interval is None


def test_without_treated_conversions_the_lift_is_minus_one_without_an_interval(world):
    # given conversions among the held-out maids only
    _add_events(world.warehouse_path, [(p, "job_click", IN_PERIOD)
                                       for p in _maids(world.holdout)[:2]])
    # when measuring
    result = _measure(world, end=END)
    # then the lift is -100 % and the interval, whose log ratio is undefined, is left out
    assert result.relative_lift == -1.0
    assert result.relative_lift_ci95 is None
    assert "relative_lift_ci95" not in json.loads(result.path.read_text())


def test_opted_out_persons_are_in_neither_group(world, tmp_path):
    # given converters in both groups
    treated, held_out = world.treated_meta, _maids(world.holdout)
    _add_events(world.warehouse_path,
                [(p, "job_click", IN_PERIOD) for p in treated[:4] + held_out[:3]])
    before = _measure(world, end=END)
    # when, after the export, one treated and one held-out converter are erased by an opt-out,
    # and one more of each is on the suppression list while their events are still stored
    optouts = tmp_path / "optouts.csv"
    optouts.write_text(f"person_id,requested_at,kind\n{treated[0]},2026-11-10,erasure\n"
                       f"{held_out[0]},2026-11-10,objection\n", encoding="utf-8")
    apply_optouts(world.warehouse_path, optouts)
    with open_warehouse(world.warehouse_path) as con:
        for person_id in (treated[1], held_out[1]):
            con.execute("insert into raw.suppressed_persons values (sha256(?), 'objection', "
                        "timestamp '2026-11-10 00:00', current_timestamp)", [person_id])
    after = _measure(world, end=END)
    # then each group lost exactly those two persons and their conversions
    assert (after.treated.persons, after.treated.converted) == (
        before.treated.persons - 2, before.treated.converted - 2)
    assert (after.holdout.persons, after.holdout.converted) == (
        before.holdout.persons - 2, before.holdout.converted - 2)
    assert after.treated_ids_opted_out == 2


def test_the_portal_reads_the_file_without_a_problem(world):
    # given conversions in both groups, measured under a campaign name
    _add_events(world.warehouse_path, [(p, "job_click", IN_PERIOD)
                                       for p in world.treated_meta[:8] + _maids(world.holdout)[:2]])
    result = _measure(world, end=END, campaign="winter-2026_meta.v1")
    # when the portal lists the lift results
    [shown] = list_lift_results(world.exports_dir)
    # then it reads the file as written, with its lift and interval
    assert shown.problem is None, shown.problem
    assert shown.file_name == "winter-2026_meta.v1.json" and shown.campaign == "winter-2026_meta.v1"
    assert (shown.treated.persons, shown.treated.converted) == (result.treated.persons, 8)
    assert (shown.holdout.persons, shown.holdout.converted) == (result.holdout.persons, 2)
    assert shown.relative_lift == result.relative_lift
    assert shown.confidence_interval == result.relative_lift_ci95
    assert shown.field("measured_at") == "2026-12-02T06:00:00Z"


def test_a_rerun_overwrites_the_same_file_with_the_same_numbers(world):
    # given a measurement
    _add_events(world.warehouse_path, [(p, "job_click", IN_PERIOD)
                                       for p in world.treated_meta[:5] + _maids(world.holdout)[:1]])
    first = _measure(world, end=END)
    first_bytes = first.path.read_bytes()
    # when it is measured again, at the same and at a later time
    again = _measure(world, end=END)
    assert again.path.read_bytes() == first_bytes, "same inputs, same bytes"
    later = measure_lift(world.warehouse_path, world.exports_dir, "everyone", AS_OF, "meta",
                         end=END, measured_at=datetime(2026, 12, 3, 7, 0, tzinfo=UTC))
    # then the one file holds the later measurement, which differs only in measured_at
    lift_files = sorted(p.name for p in (world.exports_dir / "lift").iterdir())
    assert lift_files == ["everyone-2026-11-01-v1-meta.json"], "no temporary file left behind"
    document, earlier = json.loads(later.path.read_text()), json.loads(first_bytes)
    assert document.pop("measured_at") == "2026-12-03T07:00:00Z"
    earlier.pop("measured_at")
    assert document == earlier


@pytest.mark.parametrize(("segment", "as_of", "destination", "options", "message"), [
    ("nobody", AS_OF, "meta", {}, "no export run of 2026-11-01 wrote segment 'nobody'"),
    ("everyone", date(2026, 10, 1), "meta", {},
     "no export run of 2026-10-01 wrote segment 'everyone'.*exported as of 2026-11-01 v1"),
    ("everyone", AS_OF, "meta", {"export_version": 2}, "export v2 of 2026-11-01 has no segment"),
    ("everyone", AS_OF, "tiktok", {}, "not exported to tiktok: .*below this destination's minimum"),
    ("everyone", AS_OF, "linkedin", {}, "unknown destination 'linkedin'"),
    ("everyone", AS_OF, "meta", {"campaign": "../../etc/passwd"}, "campaign name"),
    ("everyone", AS_OF, "meta", {"campaign": ".hidden"}, "campaign name"),
    ("everyone", AS_OF, "meta", {"start": date(2026, 11, 10), "end": date(2026, 11, 9)},
     "the period 2026-11-10 to 2026-11-09 is empty"),
    ("everyone", AS_OF, "meta", {"start": date(2026, 10, 20)}, "before the as-of date"),
    ("everyone", AS_OF, "meta", {"intent_types": ("click",)}, "intent types must be"),
])
def test_bad_inputs_are_refused_with_a_clear_message(world, segment, as_of, destination,
                                                     options, message):
    # when measuring something that was not exported, or with a bad name or period
    with pytest.raises(LiftInputError, match=message):
        measure_lift(world.warehouse_path, world.exports_dir, segment, as_of, destination,
                     **options)
    # then no lift file is written
    assert not (world.exports_dir / "lift").exists()


def test_a_changed_file_is_refused(world):
    # given meta.csv edited after the export
    meta_csv = world.exports_dir / AS_OF.isoformat() / "v1" / "everyone" / "meta.csv"
    meta_csv.write_text(meta_csv.read_text() + "00000000-0000-4000-8000-000000000001\n")
    # then who was sent is unknown, and nothing is measured
    with pytest.raises(LiftInputError, match="differs from the file the export wrote"):
        _measure(world)


def test_a_replaced_holdout_cannot_be_measured_but_the_new_version_can(world):
    # given a second export of the same date, which replaces the recorded holdout
    export_segments(world.warehouse_path, world.exports_dir, AS_OF,
                    SegmentsToExport(parse_segments(SEGMENTS)))
    # then v1 is refused, and without a version the newest (v2) is measured
    with pytest.raises(LiftInputError, match="replaced by the one of v2"):
        _measure(world, export_version=1)
    result = _measure(world, end=END)
    assert result.export_version == 2
    assert result.holdout.persons == len(_maids(world.holdout)), "the draw is the same"


def test_an_export_without_a_holdout_gives_counts_but_no_lift(world):
    # given a new export of the same date that holds nobody out (replacing v1's holdout)
    export_segments(world.warehouse_path, world.exports_dir, AS_OF,
                    SegmentsToExport(parse_segments({**SEGMENTS, "holdout_fraction": 0})))
    _add_events(world.warehouse_path, [(world.treated_meta[0], "job_click", IN_PERIOD)])
    # when measuring it
    result = _measure(world, end=END)
    # then the holdout is empty and no lift is claimed
    assert result.export_version == 2
    assert result.holdout.persons == 0 and result.treated.converted == 1
    assert result.relative_lift is None and result.relative_lift_ci95 is None
    # and v1, whose holdout is gone, is refused
    with pytest.raises(LiftInputError, match="replaced by the one of v2"):
        _measure(world, export_version=1)


@pytest.mark.parametrize("destination", destination_names())
def test_every_destination_file_maps_back_to_the_persons_written(tmp_path, destination):
    # given persons with upper- and lower-case maids, and each exporter's own file of them
    population = make_population(60, seed=11, maid_share=1.0)
    warehouse_path = tmp_path / "warehouse.duckdb"
    build_warehouse(warehouse_path, population)
    persons = population.persons.select(
        "person_id", "id_type", score=pl.lit(0.5), rank=pl.int_range(1, 61),
        decile=pl.lit(1)).cast({"rank": pl.Int64, "decile": pl.Int64})
    config = parse_segments({**SEGMENTS, "destination_settings": {
        "google_ads": {"app_id": "se.norrbotten.flyttahit"},
        "the_trade_desk": {"advertiser_id": "adv123"}}})
    exporter = EXPORTERS[destination]()
    written = exporter.write(exporter.prepare(persons).rows, tmp_path,
                             ExportContext("everyone", AS_OF, config.destination_settings))
    file_ids = [i for w in written for i in ids_in_file(tmp_path / w.file, destination)]
    # when matching the file's ids back as the lift does
    with open_warehouse(warehouse_path, read_only=True) as con:
        con.execute(read_sql("queries/contract_macros.sql"))
        con.register("exported_ids", pa.table({"file_id": pa.array(file_ids, pa.string())}))
        matched = con.execute(read_sql("activation/queries/lift_treated_persons.sql"),
                              {"id_form": exporter.id_form}).pl()
    # then every id is one person, and every person is found
    assert matched.height == len(file_ids) == 60
    assert sorted(matched["person_id"]) == sorted(population.ids())


def test_norrut_lift_runs_the_flow_and_prints_the_file_and_numbers(prefect_harness, home,
                                                                    exported_template,
                                                                    monkeypatch):
    # given a Prefect server configured (the harness's), so the command is a flow run of it
    monkeypatch.setenv("PREFECT_API_URL", prefect_harness)
    # and a home holding the exported warehouse, with two treated and one held-out converter
    shutil.copyfile(exported_template.warehouse_path, home.warehouse_path)
    shutil.copytree(exported_template.exports_dir, home.exports_dir, dirs_exist_ok=True)
    _add_events(home.warehouse_path, [
        (exported_template.treated_meta[0], "job_click", IN_PERIOD),
        (exported_template.treated_meta[1], "signup", IN_PERIOD),
        (_maids(exported_template.holdout)[0], "inquiry", IN_PERIOD)])
    runner = CliRunner()
    # when measuring with `norrut lift`, and again for a segment that was never exported
    done = runner.invoke(build_app(), ["lift", "--segment", "everyone", "--destination", "meta",
                                       "--as-of", "2026-11-01", "--end", "2026-11-20"])
    refused = runner.invoke(build_app(), ["lift", "--segment", "nobody",
                                          "--destination", "meta"])
    typo = runner.invoke(build_app(), ["lift", "--segment", "everyone", "--destination", "meta",
                                       "--campaign", "winter/meta"])
    # then it printed the counts, the lift and where the file is, and the file is there
    assert done.exit_code == 0, done.output
    path = home.exports_dir / "lift" / "everyone-2026-11-01-v1-meta.json"
    assert str(path) in done.output.replace("\n", ""), done.output
    document = json.loads(path.read_text())
    assert document["treated"]["converted"] == 2 and document["holdout"]["converted"] == 1
    treated_line = next(line for line in done.output.splitlines() if "treated" in line)
    assert f"{document['treated']['persons']:,}" in treated_line, done.output
    assert "relative lift:" in done.output and "95 % interval:" in done.output
    # and the unknown segment is one error line naming it
    assert refused.exit_code == 2, refused.output
    assert "no export run" in refused.output and "'nobody'" in refused.output
    assert "Traceback" not in refused.output
    # and a bad campaign name is one line too, before any run starts
    assert typo.exit_code == 2 and "campaign name 'winter/meta'" in typo.output, typo.output
    # and the measurement ran as a completed flow run named after the as-of date
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["lift"])))
    mine = [run for run in runs
            if run.parameters.get("settings", {}).get("home") == str(home.root)]
    completed = [run for run in mine if run.state.is_completed()]
    assert [run.name for run in completed] == ["lift-2026-11-01"], [
        (run.name, run.state.name) for run in mine]
    assert len(mine) == 2, "the unknown segment failed its run; the typo started none"
    # and published its summary where the marketing team reads it
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[completed[0].id])))
    summary = {artifact.key: artifact.data for artifact in artifacts}["lift-summary"]
    assert "## Lift of everyone as of 2026-11-01 (export v1) on meta" in summary, summary
