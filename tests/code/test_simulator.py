"""The event simulator: contract-true files, exact planted faults, determinism, and a truth that
matches what happens."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from core.contract import (
    DEVICES,
    ENGAGEMENT_EVENT_TYPES,
    EVENT_FIELDS,
    EVENT_ID_MAX_LENGTH,
    EVENT_TYPES,
    ID_TYPES,
    INTENT_EVENT_TYPES,
    MAX_WATCH_SECONDS,
    OPTOUT_KINDS,
    PERSON_ID_PATTERN,
    THEMES,
    looks_like_pii,
)
from norrut.cli.app import build_app
from simulator.faults import FAULT_REASONS
from simulator.ids import cookie_ids, event_ids, maid_ids, publisher_ids
from simulator.population import JOB_THEMES, MUNICIPALITIES, daily_hazard, next_readiness
from simulator.truth import (
    ReadinessProcess,
    clairvoyant_intent_probability,
    expected_intent_probability,
    realised_intent,
    true_intent_probability,
)
from simulator.world import WorldSettings, simulate_world

SMALL = {"persons": 300, "days": 30, "seed": 11, "files_per_format": 2}
TEXT_SUFFIXES = (".jsonl", ".ndjson", ".csv", ".jsonl.gz", ".ndjson.gz", ".csv.gz")


@pytest.fixture(scope="module")
def clean_world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("clean") / "world"
    simulate_world(out, WorldSettings(**SMALL))
    return out


@pytest.fixture(scope="module")
def faulty_world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("faulty") / "world"
    simulate_world(out, WorldSettings(**SMALL, faults=True))
    return out


@pytest.fixture(scope="module")
def medium_world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("medium") / "world"
    simulate_world(out, WorldSettings(persons=4000, days=60, seed=3, files_per_format=1))
    return out


def _expected(world: Path) -> dict:
    return json.loads((world / "truth" / "expected_ingest.json").read_text())


# An independent reading of the inbox: plain json/csv modules and the contract's rules, row by
# row (fine for a few thousand rows in a test; the simulator itself never loops over rows).

def _open_text(path: Path) -> str:
    data = path.read_bytes()
    return (gzip.decompress(data) if path.name.endswith(".gz") else data).decode("utf-8")


def _parse_occurred_at(value: object) -> datetime | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    if isinstance(value, str) and re.fullmatch(
            r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})", value):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _broken_rules(row: dict) -> set[str]:
    """Every contract rule a parsed row breaks (the simulator plants exactly one per bad row)."""
    broken = set()
    missing = lambda name: row.get(name) is None or row.get(name) == ""
    for value in row.values():
        if isinstance(value, str) and (reason := looks_like_pii(value)):
            broken.add(reason)
    if missing("event_id"):
        broken.add("missing_event_id")
    elif len(str(row["event_id"])) > EVENT_ID_MAX_LENGTH:
        broken.add("event_id_too_long")
    if missing("occurred_at"):
        broken.add("missing_occurred_at")
    else:
        moment = _parse_occurred_at(row["occurred_at"])
        if moment is None:
            broken.add("bad_occurred_at")
        elif moment > datetime.now(UTC) + timedelta(days=1):
            broken.add("future_occurred_at")
    if missing("person_id"):
        broken.add("missing_person_id")
    elif not re.fullmatch(PERSON_ID_PATTERN, row["person_id"]) and not looks_like_pii(
            row["person_id"]):
        broken.add("bad_person_id")
    if row.get("id_type") not in ID_TYPES:
        broken.add("bad_id_type")
    if row.get("event_type") not in EVENT_TYPES:
        broken.add("bad_event_type")
    elif row["event_type"] in ENGAGEMENT_EVENT_TYPES and missing("content_id"):
        broken.add("missing_content_id")
    if not missing("watch_seconds"):
        try:
            seconds = float(row["watch_seconds"])
        except (TypeError, ValueError):
            seconds = -1.0
        if isinstance(row["watch_seconds"], bool) or not 0 <= seconds <= MAX_WATCH_SECONDS:
            broken.add("bad_watch_seconds")
    if not missing("device") and row["device"] not in DEVICES:
        broken.add("bad_device")
    if missing("consent"):
        broken.add("missing_consent")
    elif row["consent"] not in (True, False, "true", "false", "1", "0"):
        broken.add("bad_consent")
    return broken


def _read_rows(path: Path) -> tuple[list[dict | None], list[str]]:
    """Rows of one event file (None for a malformed row) and its column names."""
    if path.suffix == ".parquet":
        frame = pl.read_parquet(path)
        return frame.to_dicts(), frame.columns
    text = _open_text(path)
    if ".csv" in path.name:
        records = list(csv.reader(io.StringIO(text)))
        header = records[0]
        return [dict(zip(header, r)) if len(r) == len(header) else None
                for r in records[1:]], header
    rows, columns = [], []
    for line in text.splitlines():
        try:
            document = json.loads(line)
        except json.JSONDecodeError:
            document = None
        rows.append(document if isinstance(document, dict) else None)
        if isinstance(document, dict):
            columns.extend(name for name in document if name not in columns)
    return rows, columns


def _ingest_independently(world: Path) -> dict:
    """Counts a correct ingestion reports, worked out from the files alone."""
    seen_hashes: dict[str, str] = {}
    seen_ids: set[str] = set()
    persons: set[str] = set()
    result = {"events": 0, "duplicates_skipped": 0, "rows_quarantined": Counter(),
              "files_loaded": 0, "quarantined_files": [], "skipped": [], "unknown_columns": {}}
    for path in sorted((world / "inbox").iterdir()):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest in seen_hashes:
            result["skipped"].append({"file": path.name, "same_content_as": seen_hashes[digest]})
            continue
        seen_hashes[digest] = path.name
        if not path.name.endswith(TEXT_SUFFIXES + (".parquet",)):
            result["quarantined_files"].append({"file": path.name, "reason": "unknown_extension"})
            continue
        try:
            rows, columns = _read_rows(path)
        except (EOFError, OSError, gzip.BadGzipFile):
            result["quarantined_files"].append({"file": path.name, "reason": "unreadable_file"})
            continue
        result["files_loaded"] += 1
        unknown = [name for name in columns if name not in EVENT_FIELDS]
        if unknown:
            result["unknown_columns"][path.name] = unknown
        for row in rows:
            broken = {"malformed_row"} if row is None else _broken_rules(row)
            assert len(broken) <= 1, f"{path.name}: a row breaks several rules {broken}: {row}"
            if broken:
                result["rows_quarantined"][broken.pop()] += 1
            elif row["event_id"] in seen_ids:
                result["duplicates_skipped"] += 1
            else:
                seen_ids.add(row["event_id"])
                persons.add(row["person_id"])
                result["events"] += 1
    result["persons"] = len(persons)
    return result


def test_clean_world_loads_completely_under_the_contract(clean_world):
    # given a world without faults
    expected = _expected(clean_world)
    # when its inbox is read independently, row by row
    observed = _ingest_independently(clean_world)
    # then every row is valid and every count matches what the simulator recorded
    assert sum(observed["rows_quarantined"].values()) == 0, observed["rows_quarantined"]
    assert observed["duplicates_skipped"] == expected["duplicates_skipped"] == 0
    assert observed["events"] == expected["events"] > 1000
    assert observed["persons"] == expected["persons"]
    assert observed["files_loaded"] == expected["files_loaded"] == 6
    assert observed["quarantined_files"] == expected["quarantined_files"] == []
    assert expected["rows_quarantined"] == {reason: 0 for reason in FAULT_REASONS}


def test_faulty_world_counts_are_exactly_what_was_planted(faulty_world):
    # given a world with every kind of fault
    expected = _expected(faulty_world)
    # when its inbox is read independently (each bad row must break exactly one rule)
    observed = _ingest_independently(faulty_world)
    # then each reason appears as often as recorded, and all other counts agree
    assert dict(observed["rows_quarantined"]) == {
        reason: count for reason, count in expected["rows_quarantined"].items() if count}
    assert all(expected["rows_quarantined"][reason] > 0 for reason in FAULT_REASONS), \
        "every fault kind is planted at least once"
    assert observed["events"] == expected["events"], "faults never hide a valid event"
    assert observed["duplicates_skipped"] == expected["duplicates_skipped"] > 0
    assert expected["duplicates_within_file"] > 0 and expected["duplicates_across_files"] > 0
    assert observed["persons"] == expected["persons"]
    assert observed["files_loaded"] == expected["files_loaded"]
    assert sorted(observed["quarantined_files"], key=str) == \
        sorted(expected["quarantined_files"], key=str)
    assert {q["reason"] for q in expected["quarantined_files"]} == \
        {"unreadable_file", "unknown_extension"}
    assert observed["skipped"] == expected["files_skipped_same_content"] != []
    assert observed["unknown_columns"] == expected["unknown_columns"]
    assert expected["unknown_column_count"] == sum(map(len, expected["unknown_columns"].values()))
    assert sum(f["rows_loaded"] for f in expected["files"]) == expected["events"]


def test_faults_and_clean_world_share_the_same_honest_events(clean_world, faulty_world):
    # given the same seed with and without faults
    # then the valid events are the same (faults are added, nothing honest is lost)
    assert _expected(clean_world)["events"] == _expected(faulty_world)["events"]
    assert _expected(clean_world)["persons"] == _expected(faulty_world)["persons"]


def test_planted_personal_data_trips_the_detectors_and_honest_values_never_do(
        clean_world, faulty_world):
    # given every string value of the clean world's inbox, catalog and opt-outs
    honest: set[str] = set()
    for path in (clean_world / "inbox").iterdir():
        rows, _ = _read_rows(path)
        for row in rows:
            honest.update(str(value) for value in row.values() if value is not None)
    for name in ("catalog.csv", "optouts.csv"):
        honest.update(pl.read_csv(clean_world / name, infer_schema=False)
                      .unpivot()["value"].drop_nulls().to_list())
    # then none looks like personal data
    flagged = [value for value in honest if looks_like_pii(value)]
    assert not flagged, f"honest values look like personal data: {flagged[:5]}"
    # and neither do many freshly made ids of every kind
    rng = np.random.default_rng(0)
    ids = np.concatenate([maid_ids(rng, 20000), cookie_ids(rng, 20000),
                          publisher_ids(rng, 20000), event_ids(np.arange(20000), 99)])
    assert not [value for value in ids.tolist() if looks_like_pii(value)]
    # and the faulty world has planted PII of all three kinds
    planted = _ingest_independently(faulty_world)["rows_quarantined"]
    assert planted["pii_email"] and planted["pii_phone"] and planted["pii_ip_address"]


def test_clean_inbox_uses_every_format_and_timestamp_style(clean_world):
    # given the clean inbox, read with standard readers (DuckDB, Polars)
    inbox = clean_world / "inbox"
    names = sorted(path.name for path in inbox.iterdir())
    con = duckdb.connect()
    # then all formats are present
    for suffix in (".jsonl.gz", ".ndjson", ".csv", ".csv.gz", ".parquet"):
        assert any(name.endswith(suffix) for name in names), f"no {suffix} file in {names}"
    # and CSV files read with DuckDB hold all three timestamp styles and both boolean styles
    csv_files = [str(inbox / n) for n in names if ".csv" in n]
    values = con.execute(
        "select occurred_at, consent, filename from read_csv(?, all_varchar = true, "
        "filename = true, union_by_name = true)", [csv_files]).pl()
    occurred = values["occurred_at"]
    assert occurred.str.contains(r"^\d{13}$").any(), "epoch milliseconds"
    assert occurred.str.ends_with("Z").any(), "UTC with Z"
    assert occurred.str.ends_with("+01:00").any() and occurred.str.ends_with("+02:00").any(), \
        "Stockholm offsets (summer and winter time)"
    consent_styles = values.group_by("filename").agg(pl.col("consent").unique().sort())
    styles = [set(v) for v in consent_styles["consent"].to_list()]
    assert all(v <= {"true", "false"} or v <= {"1", "0"} for v in styles), styles
    assert any("true" in v for v in styles) and any("1" in v for v in styles), styles
    # and CSV column order differs between files
    headers = {(inbox / n).read_text().splitlines()[0] for n in names if n.endswith(".csv")}
    headers |= {_open_text(inbox / n).splitlines()[0] for n in names if n.endswith(".csv.gz")}
    assert len(headers) > 1
    # and JSON consent is a real boolean, epoch timestamps real integers
    documents = [json.loads(line) for n in names if "json" in n
                 for line in _open_text(inbox / n).splitlines()]
    assert all(isinstance(d["consent"], bool) for d in documents)
    assert any(isinstance(d["occurred_at"], int) for d in documents)


def test_clean_events_are_consistent_with_the_catalog(clean_world):
    # given all clean events and the catalog
    rows = [row for path in (clean_world / "inbox").iterdir() for row in _read_rows(path)[0]]
    catalog = pl.read_csv(clean_world / "catalog.csv")
    durations = dict(zip(catalog["content_id"], catalog["duration_seconds"]))
    # then engagement points to catalog items, watch time fits the film, intents name a place
    for row in rows:
        if row["event_type"] in ENGAGEMENT_EVENT_TYPES:
            assert row["content_id"] in durations, row
        if row["event_type"] == "video_progress":
            assert 0 <= float(row["watch_seconds"]) <= durations[row["content_id"]], row
        if row["event_type"] in INTENT_EVENT_TYPES:
            assert row["municipality"] in MUNICIPALITIES, row
    assert {row["event_type"] for row in rows} >= set(ENGAGEMENT_EVENT_TYPES)
    assert {row["id_type"] for row in rows} == set(ID_TYPES)
    maids = [row["person_id"] for row in rows if row["id_type"] == "maid"]
    assert all(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                            r"[0-9a-f]{12}", pid) for pid in maids)


def test_catalog_and_optouts_follow_the_contract(medium_world):
    # given the catalog and opt-outs of a world
    catalog = pl.read_csv(medium_world / "catalog.csv")
    optouts = pl.read_csv(medium_world / "optouts.csv")
    persons = pl.read_parquet(medium_world / "truth" / "persons.parquet")
    # then the catalog has films and images with contract themes and northern places
    assert catalog.columns == ["content_id", "kind", "title", "duration_seconds", "themes",
                               "municipality", "published_at"]
    assert 100 <= catalog.height <= 200 and catalog["content_id"].is_unique().all()
    assert set(catalog["kind"]) == {"film", "image"}
    films = catalog.filter(pl.col("kind") == "film")
    assert (films["duration_seconds"] > 0).all()
    assert {t for ts in catalog["themes"] for t in ts.split("|")} == set(THEMES)
    assert set(catalog["municipality"]) <= set(MUNICIPALITIES)
    # and about 0.5% of persons opted out, with valid kinds, all of them real persons
    assert optouts.columns == ["person_id", "requested_at", "kind"]
    assert optouts.height == 20
    assert set(optouts["kind"]) <= set(OPTOUT_KINDS)
    assert set(optouts["person_id"]) <= set(persons["person_id"])
    recorded = _expected(medium_world)["optouts"]
    assert recorded["persons"] == recorded["erasure_persons"] + recorded["objection_persons"] \
        == optouts.height
    with_events = persons.filter(pl.col("optout_kind").is_not_null())
    assert with_events.height == optouts.height and (with_events["n_events"] > 0).all()
    assert recorded["events_of_erasure_persons"] == with_events.filter(
        pl.col("optout_kind") == "erasure")["n_events"].sum()


def test_consent_is_withdrawn_mid_history_by_a_few_persons(medium_world):
    # given the hidden traits and the events of a medium world
    persons = pl.read_parquet(medium_world / "truth" / "persons.parquet")
    withdrawn = persons.filter(pl.col("consent_withdrawn_on").is_not_null())
    events = duckdb.connect().execute(
        "select person_id, consent, occurred_at::varchar as occurred_at from "
        "read_parquet(?) union all select person_id, consent::boolean, occurred_at from "
        "read_csv(?, all_varchar = true)",
        [[str(p) for p in (medium_world / "inbox").glob("*.parquet")],
         [str(p) for p in (medium_world / "inbox").glob("*.csv*")]]).pl()
    # then about 2% withdraw consent, and some of their events carry consent = false
    assert 0.01 < withdrawn.height / persons.height < 0.035
    refused = events.filter(~pl.col("consent"))["person_id"].unique()
    assert set(refused) <= set(withdrawn["person_id"])
    assert len(refused) > 0
    assert persons.filter(pl.col("consent_regranted_on").is_not_null()).height > 0


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path):
    # given the same small world made twice, and once with another seed
    settings = WorldSettings(persons=60, days=6, seed=5, faults=True, files_per_format=1)
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    simulate_world(first, settings)
    simulate_world(second, settings)
    simulate_world(other, WorldSettings(persons=60, days=6, seed=6, faults=True,
                                        files_per_format=1))

    def digests(root: Path) -> dict[str, str]:
        return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(root.rglob("*")) if p.is_file()}

    # then every file is byte-identical for the same seed, and the events differ otherwise
    assert digests(first) == digests(second)
    differing = {name for name, digest in digests(other).items()
                 if digests(first).get(name) != digest}
    assert any(name.startswith("inbox/events-") for name in differing)


def test_rerun_replaces_an_earlier_world_and_refuses_a_foreign_folder(tmp_path):
    # given a world already written, and a folder holding someone else's file
    out = tmp_path / "world"
    simulate_world(out, WorldSettings(persons=40, days=5, seed=1, files_per_format=1))
    foreign = tmp_path / "documents"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    # when simulating again into both
    simulate_world(out, WorldSettings(persons=50, days=5, seed=1, files_per_format=1))
    with pytest.raises(FileExistsError):
        simulate_world(foreign, WorldSettings(persons=40, days=5, seed=1, files_per_format=1))
    # then the world is the new one and the foreign folder is untouched
    assert json.loads((out / "world.json").read_text())["arguments"]["persons"] == 50
    assert (foreign / "notes.txt").read_text() == "keep me"
    assert not list(tmp_path.glob(".*partial")) and not list(tmp_path.glob(".*old"))


def test_true_probabilities_match_realised_outcomes(medium_world):
    # given windows inside the inbox period and one starting the day after it ends
    for as_of in (date(2026, 9, 20), date(2026, 10, 10), date(2026, 11, 2)):
        truth = true_intent_probability(medium_world, as_of, horizon_days=14)
        clairvoyant = clairvoyant_intent_probability(medium_world, as_of, horizon_days=14)
        realised = realised_intent(medium_world, as_of, horizon_days=14)
        p = truth["true_probability"].to_numpy()
        q = clairvoyant["clairvoyant_probability"].to_numpy()
        # then probabilities are valid, one per person
        assert truth.height == clairvoyant.height == realised.height == 4000
        assert ((p >= 0) & (p <= 1)).all() and ((q >= 0) & (q <= 1)).all()
        assert truth["person_id"].to_list() == realised["person_id"].to_list() \
            == clairvoyant["person_id"].to_list()
        # and the realised positive rate is within four standard errors of both mean truths
        standard_error = np.sqrt((p * (1 - p)).sum()) / len(p)
        rate = realised["had_intent"].mean()
        assert abs(rate - p.mean()) < 4 * standard_error, (as_of, rate, p.mean())
        assert abs(rate - q.mean()) < 4 * standard_error, (as_of, rate, q.mean())
        assert 0.02 < p.mean() < 0.10, "base rate of roughly 3-8% over 14 days"
        # and the oracle, an expectation of the clairvoyant's figure given the state at as_of,
        # spreads less than it (law of total variance) while the two stay strongly related
        assert p.var() < q.var(), (as_of, p.var(), q.var())
        assert np.corrcoef(p, q)[0, 1] > 0.8


def test_readiness_recovered_from_the_truth_follows_the_recorded_walk(medium_world):
    # given each person's daily readiness recovered from hazard.npy and the stored baseline
    truth = json.loads((medium_world / "truth" / "truth.json").read_text())
    process = ReadinessProcess.from_truth(truth)
    baseline = pl.read_parquet(medium_world / "truth" / "persons.parquet")["hazard_baseline"]
    hazard = np.load(medium_world / "truth" / "hazard.npy").astype(np.float64)
    readiness = (np.log(hazard) - baseline.to_numpy()[:, None]) / process.hazard_readiness
    # when taking the day-to-day innovations of the recorded AR(1) walk
    innovations = (readiness[:, 1:] - process.persistence * readiness[:, :-1]).ravel()
    jumps = innovations > process.jump_size / 2
    # then jumps are as rare as recorded, and the rest is centred noise of the recorded size
    # (a wrong baseline or persistence would shift or widen them)
    jump_se = np.sqrt(process.jump_probability / len(innovations))
    assert abs(jumps.mean() - process.jump_probability) < 4 * jump_se, jumps.mean()
    assert abs(innovations[jumps].mean() - process.jump_size) < 0.02
    assert abs(innovations[~jumps].mean()) < 0.002
    assert abs(innovations[~jumps].std() / process.innovation_sd - 1) < 0.01


def test_oracle_equals_the_clairvoyant_when_readiness_never_changes(tmp_path, monkeypatch):
    # given a world whose readiness is frozen: persistence 1, so no innovations, and no jumps
    monkeypatch.setattr("simulator.population.READINESS_PERSISTENCE", 1.0)
    monkeypatch.setattr("simulator.population.READINESS_JUMP_PROBABILITY", 0.0)
    simulate_world(tmp_path / "frozen", WorldSettings(persons=300, days=20, seed=5,
                                                      files_per_format=1))
    recorded = json.loads((tmp_path / "frozen" / "truth" / "truth.json").read_text())
    assert recorded["readiness_process"]["persistence"] == 1.0
    assert recorded["readiness_process"]["innovation_sd"] == 0.0
    # when computing both probabilities for windows starting in and after the inbox
    for as_of in (date(2026, 10, 20), date(2026, 11, 2)):
        oracle = true_intent_probability(tmp_path / "frozen", as_of, paths=64)
        clairvoyant = clairvoyant_intent_probability(tmp_path / "frozen", as_of)
        # then knowing the future adds nothing: they coincide (float32 hazard precision)
        np.testing.assert_allclose(oracle["true_probability"],
                                   clairvoyant["clairvoyant_probability"], rtol=1e-5)
        assert oracle["mc_standard_error"].max() < 1e-12


def test_oracle_is_deterministic_by_seed_and_stays_within_its_error(medium_world):
    # given the oracle computed twice with one seed and once with another
    as_of = date(2026, 10, 25)
    first = true_intent_probability(medium_world, as_of, paths=2048, seed=4)
    again = true_intent_probability(medium_world, as_of, paths=2048, seed=4)
    other = true_intent_probability(medium_world, as_of, paths=2048, seed=5)
    # then the same seed gives identical figures, another seed different ones within a few
    # of the reported standard errors (all persons share the paths, so their errors move
    # together: one seed pair is one draw, and paths with jumps make its tails heavy)
    assert first.equals(again)
    difference = (first["true_probability"] - other["true_probability"]).abs()
    assert difference.max() > 0
    combined = np.sqrt(2) * first["mc_standard_error"]
    assert (difference <= 6 * combined + 1e-12).all()
    # and the order of persons, all an AUC sees, hardly depends on the seed
    ranks = [frame["true_probability"].rank() for frame in (first, other)]
    assert np.corrcoef(ranks[0], ranks[1])[0, 1] > 0.999


def test_expected_probability_matches_a_direct_simulation_of_the_walk():
    # given a few hidden states: low, neutral and high readiness at a high baseline, so the
    # window's outcome depends strongly on what the walk does next
    process = ReadinessProcess(persistence=0.97, innovation_sd=float(np.sqrt(1 - 0.97**2)),
                               jump_probability=0.004, jump_size=2.0, hazard_readiness=0.9)
    baseline = np.array([-3.0, -3.0, -3.0, -5.0])
    readiness_now = np.array([-2.0, 0.0, 2.5, 1.0])
    horizon, share = 14, 0.65
    expected, standard_error = expected_intent_probability(
        baseline, readiness_now, horizon, share, process, paths=20_000, seed=1)
    # when simulating the same days with the simulator's own walk and hazard, independently
    # per path (advance readiness, then that day's hazard)
    rng = np.random.default_rng(123)
    paths = 20_000
    readiness = np.repeat(readiness_now, paths).astype(np.float32)
    total_hazard = np.zeros(len(readiness))
    for _ in range(horizon):
        readiness = next_readiness(rng, readiness)
        total_hazard += daily_hazard(np.repeat(baseline, paths), readiness)
    direct = (-np.expm1(-share * total_hazard)).reshape(len(baseline), paths)
    direct_mean = direct.mean(axis=1)
    direct_se = direct.std(axis=1, ddof=1) / np.sqrt(paths)
    # then the two agree within their Monte Carlo errors
    gap = np.abs(expected - direct_mean)
    assert (gap < 4 * np.sqrt(standard_error**2 + direct_se**2)).all(), (expected, direct_mean)
    # and they differ from reading the state's hazard as constant over the window
    frozen = -np.expm1(-share * horizon * np.exp(baseline + 0.9 * readiness_now))
    assert np.abs(expected - frozen).max() > 10 * standard_error.max()


def test_worlds_without_the_readiness_process_fail_clearly(medium_world, tmp_path):
    # given a copy of a world's truth as written before truth version 2
    old = tmp_path / "old"
    (old / "truth").mkdir(parents=True)
    for name in ("persons.parquet", "hazard.npy", "intent_days.parquet"):
        (old / "truth" / name).write_bytes((medium_world / "truth" / name).read_bytes())
    truth = json.loads((medium_world / "truth" / "truth.json").read_text())
    for key in ("truth_version", "readiness_process", "hazard_baseline_column"):
        truth.pop(key)
    (old / "truth" / "truth.json").write_text(json.dumps(truth))
    # then the oracle says what to do, and the clairvoyant and outcomes still work
    with pytest.raises(ValueError, match="simulate it again"):
        true_intent_probability(old, date(2026, 11, 2))
    assert clairvoyant_intent_probability(old, date(2026, 11, 2)).height == 4000
    assert realised_intent(old, date(2026, 11, 2)).height == 4000
    # and the state before the first day is not recorded, so that as_of is refused
    with pytest.raises(ValueError, match="not recorded"):
        true_intent_probability(medium_world, date.fromisoformat(truth["first_day"]))


def test_intent_events_in_the_inbox_are_exactly_those_in_the_truth(clean_world):
    # given every intent event delivered in the inbox, by person, UTC day and type
    delivered = Counter()
    for path in (clean_world / "inbox").iterdir():
        for row in _read_rows(path)[0]:
            if row["event_type"] in INTENT_EVENT_TYPES:
                day = _parse_occurred_at(row["occurred_at"]).astimezone(UTC).date()
                delivered[(row["person_id"], day, row["event_type"])] += 1
    truth = pl.read_parquet(clean_world / "truth" / "intent_days.parquet")
    # then the truth's inbox part is exactly what was delivered, and it also covers the
    # 30 hidden days after the inbox ends
    in_inbox = truth.filter("in_inbox")
    assert Counter({(r["person_id"], r["occurred_on"], r["event_type"]): r["n_events"]
                    for r in in_inbox.iter_rows(named=True)}) == delivered
    future = pl.read_parquet(clean_world / "truth" / "future_outcomes.parquet")
    assert future["occurred_on"].min() >= date(2026, 11, 2)
    assert future["occurred_on"].max() <= date(2026, 12, 1)
    assert future.height == truth.filter(~pl.col("in_inbox")).height > 0


def test_engagement_with_job_content_is_informative(medium_world):
    # given each person's clicks and watching of job-themed content in the 20 days before the
    # as_of date (the Parquet file of this world covers them)
    as_of = date(2026, 11, 2)
    catalog = pl.read_csv(medium_world / "catalog.csv").with_columns(
        is_job=pl.col("themes").str.split("|").list.eval(pl.element().is_in(JOB_THEMES))
        .list.any())
    events = pl.concat([
        pl.read_parquet(p, columns=["person_id", "event_type", "content_id", "occurred_at"])
        .with_columns(pl.col("occurred_at").cast(pl.String))
        for p in (medium_world / "inbox").glob("*.parquet")])
    epoch = pl.col("occurred_at").str.contains(r"^\d+$")
    events = events.with_columns(
        occurred_on=pl.when(epoch).then(pl.from_epoch(
            pl.col("occurred_at").cast(pl.Int64, strict=False), time_unit="ms").dt.date())
        .otherwise(pl.col("occurred_at").str.to_datetime(time_zone="UTC", strict=False)
                   .dt.date()))
    recent = (events.filter(pl.col("occurred_on") < as_of,
                            pl.col("occurred_on") >= as_of - timedelta(days=20),
                            pl.col("event_type").is_in(["click", "video_progress"]))
              .join(catalog.select("content_id", "is_job"), on="content_id")
              .filter("is_job").group_by("person_id").agg(job_engagement=pl.len()))
    truth = true_intent_probability(medium_world, as_of).join(recent, on="person_id",
                                                              how="left").fill_null(0)
    # then persons engaging more with job content have a higher true probability of intent
    none = truth.filter(pl.col("job_engagement") == 0)["true_probability"].mean()
    some = truth.filter(pl.col("job_engagement") >= 1)["true_probability"].mean()
    many = truth.filter(pl.col("job_engagement") >= 3)["true_probability"].mean()
    assert none < some < many, (none, some, many)
    assert many > 1.5 * none, "the signal is real, not negligible"


def test_true_probability_rejects_windows_outside_the_simulation(medium_world):
    # when asking for a window before the first day or past the simulated future
    with pytest.raises(ValueError, match="outside the simulated days"):
        true_intent_probability(medium_world, date(2026, 1, 1))
    with pytest.raises(ValueError, match="outside the simulated days"):
        true_intent_probability(medium_world, date(2026, 11, 25), horizon_days=14)
    with pytest.raises(ValueError, match="intent types"):
        true_intent_probability(medium_world, date(2026, 11, 2), intent_types=["impression"])
    # and a subset of intent types is less likely than all of them
    everything = true_intent_probability(medium_world, date(2026, 11, 2))
    job_clicks = true_intent_probability(medium_world, date(2026, 11, 2),
                                         intent_types=["job_click"])
    assert (job_clicks["true_probability"] <= everything["true_probability"]).all()


def test_cli_writes_a_world(tmp_path):
    # when running the command on a tiny world
    out = tmp_path / "cli-world"
    result = CliRunner().invoke(build_app(), [
        "simulate", str(out), "--persons", "50", "--days", "5", "--seed", "2", "--files", "1",
        "--faults", "--end", "2026-06-30"])
    # then it succeeds and records its arguments
    assert result.exit_code == 0, result.output
    world = json.loads((out / "world.json").read_text())
    assert world["arguments"] == {"persons": 50, "days": 5, "seed": 2, "end": "2026-06-30",
                                  "faults": True, "files_per_format": 1}
    assert world["as_of"] == "2026-07-01"
    assert (out / "truth" / "expected_ingest.json").exists()
    # and a bad date is a clear error
    bad = CliRunner().invoke(build_app(), ["simulate", str(out), "--end", "2026-02-30"])
    assert bad.exit_code != 0 and "YYYY-MM-DD" in bad.output


def test_files_written_in_small_chunks_are_identical(tmp_path, monkeypatch):
    # given the same faulty world written in one chunk per file and in chunks of 50 rows
    settings = WorldSettings(persons=80, days=6, seed=4, faults=True, files_per_format=1)
    simulate_world(tmp_path / "whole", settings)
    monkeypatch.setattr("simulator.inbox._WRITE_CHUNK_ROWS", 50)
    simulate_world(tmp_path / "chunked", settings)
    # then every event file has the same content (chunking only bounds memory; gzip framing
    # may differ with the write pattern, the text inside may not)
    for path in sorted((tmp_path / "whole" / "inbox").glob("events-*")):
        chunked = tmp_path / "chunked" / "inbox" / path.name
        if path.name.endswith(".gz"):
            assert _open_text(chunked) == _open_text(path), path.name
        else:
            assert chunked.read_bytes() == path.read_bytes(), path.name
    assert _expected(tmp_path / "chunked") == _expected(tmp_path / "whole")


@pytest.fixture(scope="module")
def rate_world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("rate") / "world"
    simulate_world(out, WorldSettings(**SMALL, faults=True, fault_rate=0.01))
    return out


def _bad_rows_by_file(world: Path) -> dict[str, tuple[int, Counter]]:
    """Per event file: its rows and, independently worked out, its bad rows by reason."""
    found = {}
    for planned in _expected(world)["files"]:
        rows, _ = _read_rows(world / "inbox" / planned["file"])
        reasons = Counter(("malformed_row" if row is None else min(_broken_rules(row), default=""))
                          for row in rows)
        reasons.pop("", None)
        found[planned["file"]] = (len(rows), reasons)
    return found


def test_fault_rate_puts_bad_rows_of_every_kind_in_every_text_file(rate_world):
    # given a world with duplicates and bad files, and 1 % bad rows in every text file
    expected = _expected(rate_world)
    by_file = _bad_rows_by_file(rate_world)
    planned = {item["file"]: item for item in expected["files"]}
    # then every JSON-lines and CSV file holds bad rows at the rate, and Parquet files none
    for name, (rows, reasons) in by_file.items():
        bad = sum(reasons.values())
        if name.endswith(TEXT_SUFFIXES):
            assert bad == round(0.01 * (rows - bad)) > 0, (name, bad, rows)
        else:
            assert bad == 0, name
        assert dict(reasons) == planned[name]["rows_quarantined"], name
    # and each kind is planted, about equally often (in turn across the files)
    counts = expected["rows_quarantined"]
    assert min(counts.values()) >= 1 and max(counts.values()) - min(counts.values()) <= 1
    assert sum(counts.values()) == expected["rows_quarantined_total"] == \
        sum(sum(reasons.values()) for _, reasons in by_file.values())
    # and the whole inbox, read independently, gives every recorded count
    observed = _ingest_independently(rate_world)
    assert dict(observed["rows_quarantined"]) == {r: n for r, n in counts.items() if n}
    assert observed["events"] == expected["events"]
    assert observed["duplicates_skipped"] == expected["duplicates_skipped"] > 0
    assert observed["skipped"] == expected["files_skipped_same_content"] != []
    assert json.loads((rate_world / "world.json").read_text())["arguments"]["fault_rate"] == 0.01


def test_a_small_fault_rate_still_reaches_every_text_file_and_zero_plants_none(tmp_path):
    # given worlds with a tiny rate (below one row per file) and with a rate of zero
    tiny, zero = tmp_path / "tiny", tmp_path / "zero"
    simulate_world(tiny, WorldSettings(**SMALL, fault_rate=0.0001))
    simulate_world(zero, WorldSettings(**SMALL, faults=True, fault_rate=0.0,
                                       unknown_columns=False))
    # then each text file of the first holds one bad row, the first reasons in turn
    bad = {name: sum(reasons.values()) for name, (_, reasons) in _bad_rows_by_file(tiny).items()}
    text = [name for name in bad if name.endswith(TEXT_SUFFIXES)]
    assert len(text) == 4 and all(bad[name] == 1 for name in text)
    assert {r for r, n in _expected(tiny)["rows_quarantined"].items() if n} == \
        set(FAULT_REASONS[:4])
    assert not _expected(tiny)["quarantined_files"] and not _expected(tiny)["duplicates_skipped"]
    # and the second has no bad row and no unknown column, but still the duplicates and bad
    # files of --faults
    assert _expected(zero)["rows_quarantined_total"] == 0
    assert _expected(zero)["unknown_columns"] == {} == _ingest_independently(zero)["unknown_columns"]
    assert not any(sum(r.values()) for _, r in _bad_rows_by_file(zero).values())
    assert _expected(zero)["duplicates_skipped"] > 0 and _expected(zero)["quarantined_files"]
    with pytest.raises(ValueError, match="fault rate"):
        WorldSettings(**SMALL, fault_rate=0.7).validate()


def test_a_planted_behaviour_shift_changes_engagement_only_from_its_day(tmp_path):
    # given the same world without and with a shift planted from day 15 of 30
    import numpy as np

    from simulator.behaviour import SECONDS_PER_DAY, simulate_history
    from simulator.population import make_catalog, make_population

    def history(shift_day):
        rng = np.random.default_rng([11, 3])
        population = make_population(np.random.default_rng([11, 1]), 400, 30)
        catalog = make_catalog(np.random.default_rng([11, 2]), date(2026, 10, 3))
        return simulate_history(rng, population, catalog, 30, 5, 0, shift_day=shift_day,
                                shift_activity=0.3)

    stable, shifted = history(None), history(15)
    day_of = {name: events["second"] // SECONDS_PER_DAY
              for name, events in (("stable", stable.events), ("shifted", shifted.events))}
    # then the days before it are the same events, and engagement falls after it
    before = {name: days < 15 for name, days in day_of.items()}
    for column in ("person", "second", "event_type", "content"):
        assert np.array_equal(stable.events[column][before["stable"]],
                              shifted.events[column][before["shifted"]])
    assert (~before["shifted"]).sum() < 0.5 * (~before["stable"]).sum()
    # and a world with the shift records it in world.json, one without records nothing new
    out = tmp_path / "world"
    settings = WorldSettings(**SMALL, shift_from=date(2026, 10, 20))
    simulate_world(out, settings)
    assert json.loads((out / "world.json").read_text())["arguments"]["shift_from"] == "2026-10-20"


# A default world's files, hashed in name order (path, then bytes), as made before the planted
# films existed (commit 512642c): planting nothing must draw and write exactly the same.
DEFAULT_WORLD_DIGEST = "65f5431af72ef9c0a1d6fcc59e49f976a3dd915812decf7d72e4588465c3a513"


def test_a_default_world_is_byte_identical_to_one_made_before_planted_films(tmp_path):
    out = tmp_path / "world"
    simulate_world(out, WorldSettings(persons=300, days=12, seed=9, faults=True,
                                      files_per_format=1))
    digest = hashlib.sha256()
    for path in sorted(out.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(out)).encode())
            digest.update(path.read_bytes())
    assert digest.hexdigest() == DEFAULT_WORLD_DIGEST
    assert not (out / "truth" / "planted_films.json").exists()
    assert "strong_film" not in json.loads((out / "world.json").read_text())["arguments"]


def _planted_history(strong: str | None, keen: str | None, persons: int = 3000, days: int = 40):
    from simulator.behaviour import EVENT_TYPE_INDEX, simulate_history
    from simulator.planted_films import plant_films
    from simulator.population import make_catalog, make_population

    rng = np.random.default_rng
    population = make_population(rng([1, 1]), persons, days)
    catalog = make_catalog(rng([1, 2]), date(2026, 1, 1))
    content_ids = catalog.frame["content_id"].to_list()
    planted = plant_films(content_ids, catalog.is_film, strong, keen)
    history = simulate_history(rng([1, 3]), population, catalog, days, 0, 0, planted=planted)
    events = history.events
    views = events["event_type"] == EVENT_TYPE_INDEX["view"]
    shown = events["event_type"] == EVENT_TYPE_INDEX["impression"]
    return history, content_ids, views, shown


def _intents_between(history, persons: np.ndarray, first_day: np.ndarray, last_day: np.ndarray):
    """Intent events of each person on days first_day..last_day (inclusive), per person."""
    intents = history.intents
    counts = np.zeros(len(persons))
    position = {person: index for index, person in enumerate(persons)}
    for person, day in zip(intents["person"], intents["day"]):
        index = position.get(int(person))
        if index is not None and first_day[index] <= day <= last_day[index]:
            counts[index] += 1
    return counts


def test_the_strong_film_raises_its_viewers_later_intent_and_the_keen_film_picks_keen_viewers():
    history, content_ids, views, shown = _planted_history("film-003", "film-005")
    events = history.events
    day = events["second"] // 86_400

    def first_day_of(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        persons, first = np.unique(events["person"][mask], return_index=True)
        return persons, day[mask][first]

    strong, keen = content_ids.index("film-003"), content_ids.index("film-005")
    # each planted film is shown in 4 % of impressions, besides its share as an ordinary item
    for film in (strong, keen):
        share = (events["content"][shown] == film).mean()
        assert 0.04 < share < 0.05, share
    # the strong film's viewers do more intent events in the 14 days after their first view
    # than they did in the 14 days before it (the lift is exp(2) times at first)
    viewers, viewed_on = first_day_of(views & (events["content"] == strong))
    ready = (viewed_on >= 14) & (viewed_on <= 40 - 15)
    after = _intents_between(history, viewers[ready], viewed_on[ready] + 1, viewed_on[ready] + 14)
    before = _intents_between(history, viewers[ready], viewed_on[ready] - 14, viewed_on[ready] - 1)
    assert after.sum() > 2.5 * before.sum(), (after.sum(), before.sum())
    # the keen film's viewers did more intent events before viewing it than those shown it
    # who did not view it, in the same days before they were shown it
    keen_viewers, keen_on = first_day_of(views & (events["content"] == keen))
    keen_shown, shown_on = first_day_of(shown & (events["content"] == keen))
    others = ~np.isin(keen_shown, keen_viewers) & (shown_on >= 14)
    ready = keen_on >= 14
    viewers_before = _intents_between(history, keen_viewers[ready], keen_on[ready] - 14,
                                      keen_on[ready] - 1).mean()
    others_before = _intents_between(history, keen_shown[others], shown_on[others] - 14,
                                     shown_on[others] - 1).mean()
    assert viewers_before > 3 * others_before, (viewers_before, others_before)


def test_planted_films_must_be_two_different_films_of_the_catalog(tmp_path):
    for strong, keen, message in (("img-001", None, "not a film"), ("film-999", None, "not a film"),
                                  ("film-002", "film-002", "different films")):
        with pytest.raises(ValueError, match=message):
            simulate_world(tmp_path / "w", WorldSettings(persons=40, days=5, seed=1,
                                                         files_per_format=1, strong_film=strong,
                                                         keen_film=keen))
    assert not (tmp_path / "w").exists()
