"""Build a whole synthetic world: inbox files, catalog, opt-outs, truth and expected counts."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from core.contract import (
    DEVICES,
    EVENT_TYPES,
    ID_TYPES,
    INTENT_EVENT_TYPES,
    THEMES,
)
from simulator import faults as fault_rules
from simulator.behaviour import SECONDS_PER_DAY, SimulatedHistory, simulate_history
from simulator.files import (
    Vocabulary,
)
from simulator.inbox import (
    PlannedFile,
    epoch_second,
    iso_z,
    plan_files,
    plant_bad_files,
    plant_fault_rows,
    plant_fault_rows_at_rate,
    write_event_file,
)
from simulator.planted_films import plant_films
from simulator.population import (
    INTENT_TYPE_SHARES,
    REGIONS,
    Catalog,
    Population,
    make_catalog,
    make_population,
    readiness_process_parameters,
)

FUTURE_DAYS = 30
DEFAULT_END = date(2026, 11, 1)
EXPECTED_INGEST_VERSION = 1
# 2: persons.parquet holds hazard_baseline and truth.json the readiness process, so the
# expected probability given the state at as_of can be computed (simulator.truth).
TRUTH_VERSION = 2

Progress = Callable[[str, int, int], None]
# Settings added after worlds first recorded their arguments, with their defaults.
_LATER_SETTINGS = {"fault_rate": None, "unknown_columns": True, "shift_from": None,
                   "shift_activity": 0.3, "strong_film": None, "keen_film": None}


@dataclass(frozen=True)
class WorldSettings:
    persons: int = 50_000
    days: int = 90
    seed: int = 7
    end: date = DEFAULT_END
    faults: bool = False
    files_per_format: int = 4
    # Share of bad rows in every JSON-lines and CSV file (at least one each when above 0), of
    # every kind in turn, instead of `faults`' small fixed counts; None keeps those counts.
    fault_rate: float | None = None
    # With `faults`, the first file of each format carries columns outside the contract.
    unknown_columns: bool = True
    # A behaviour shift planted from this day on (None: none, the default): every person's
    # engagement rate is multiplied by `shift_activity`, as when a platform changes its feed,
    # so the model's features drift away from what it was trained on (model monitoring tests).
    shift_from: date | None = None
    shift_activity: float = 0.3
    # A film (content id, e.g. "film-001") whose viewing really raises later intent, and one
    # whose viewers are simply keen, with no effect (simulator/planted_films.py); None plants none.
    strong_film: str | None = None
    keen_film: str | None = None

    @property
    def first_day(self) -> date:
        return self.end - timedelta(days=self.days - 1)

    def validate(self) -> None:
        if self.persons < 10:
            raise ValueError("--persons must be at least 10")
        if self.days < 3:
            raise ValueError("--days must be at least 3")
        if not 1 <= self.files_per_format <= 50:
            raise ValueError("--files must be between 1 and 50")
        if self.seed < 0:
            raise ValueError("--seed must not be negative")
        if self.fault_rate is not None and not 0 <= self.fault_rate < 0.5:
            raise ValueError("the fault rate must be at least 0 and below 0.5")
        if self.shift_activity <= 0:
            raise ValueError("the shift's activity factor must be above 0")

    @property
    def shift_day(self) -> int | None:
        """Day index (from first_day) the behaviour shift starts, or None without one."""
        return None if self.shift_from is None else (self.shift_from - self.first_day).days


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream])


def _expected_ingest(planned: list[PlannedFile],
                     history: SimulatedHistory, quarantined_files: list[dict[str, str]],
                     skipped_files: list[dict[str, str]], fault_counts: dict[str, int]) -> dict:
    """What a correct ingestion of the inbox reports (files taken in name order for per-file
    figures; the totals do not depend on the order)."""
    honest_total = len(history.events["person"])
    seen = np.zeros(honest_total, dtype=bool)
    per_file = []
    within_total = 0
    for file in sorted(planned, key=lambda f: f.name):
        distinct = np.unique(file.rows)
        new = distinct[~seen[distinct]]
        seen[new] = True
        within_total += len(file.rows) - len(distinct)
        reasons: dict[str, int] = {}
        for row in file.faults:
            reasons[row.reason] = reasons.get(row.reason, 0) + 1
        per_file.append({
            "file": file.name, "format": file.suffix,
            "rows": int(len(file.rows) + len(file.faults)),
            "rows_loaded": len(new),
            "duplicates_skipped": int(len(file.rows) - len(new)),
            "rows_quarantined": dict(sorted(reasons.items())),
            "unknown_columns": list(file.unknown_columns),
        })
    if not seen.all():
        raise AssertionError("an honest event was planned into no loadable file")
    duplicates = sum(f["duplicates_skipped"] for f in per_file)
    seconds = history.events["second"]
    intent = np.isin(history.events["event_type"],
                     [EVENT_TYPES.index(name) for name in INTENT_EVENT_TYPES])
    return {
        "expected_ingest_version": EXPECTED_INGEST_VERSION,
        "events": int(honest_total),
        "intent_events": int(intent.sum()),
        "persons": len(np.unique(history.events["person"])),
        "duplicates_skipped": int(duplicates),
        "duplicates_within_file": int(within_total),
        "duplicates_across_files": int(duplicates - within_total),
        "rows_quarantined": {reason: int(fault_counts.get(reason, 0))
                             for reason in fault_rules.FAULT_REASONS},
        "rows_quarantined_total": int(sum(fault_counts.values())),
        "files_loaded": len(planned),
        "files_quarantined": len(quarantined_files),
        "quarantined_files": quarantined_files,
        "files_skipped_same_content": skipped_files,
        "unknown_columns": {f.name: list(f.unknown_columns) for f in planned
                            if f.unknown_columns},
        "unknown_column_count": int(sum(len(f.unknown_columns) for f in planned)),
        "first_event_at": iso_z(int(seconds.min())),
        "last_event_at": iso_z(int(seconds.max())),
        "files": per_file,
    }


def _write_optouts(path: Path, settings: WorldSettings, population: Population,
                   history: SimulatedHistory, rng: np.random.Generator) -> pl.DataFrame:
    active = np.unique(history.events["person"])
    count = min(len(active), max(1, round(0.005 * settings.persons)))
    chosen = np.sort(rng.choice(active, size=count, replace=False))
    end_second = epoch_second(settings.end) + SECONDS_PER_DAY
    requested = end_second - rng.integers(3600, 20 * SECONDS_PER_DAY, size=count)
    frame = pl.DataFrame({
        "person_id": population.person_id[chosen],
        "requested_at": [iso_z(int(second)) for second in requested],
        "kind": np.where(rng.random(count) < 0.7, "erasure", "objection"),
    }).sort("requested_at", "person_id")
    frame.write_csv(path)
    return frame


def _optout_figures(population: Population, history: SimulatedHistory,
                    optouts: pl.DataFrame) -> dict[str, int]:
    """Persons and loaded events behind optouts.csv, by kind (for checking `norrut optout`)."""
    index_of = {person_id: index for index, person_id in enumerate(population.person_id)}
    events_per_person = np.bincount(history.events["person"], minlength=population.size)
    figures = {"persons": optouts.height}
    for kind in ("erasure", "objection"):
        chosen = [index_of[p] for p in optouts.filter(pl.col("kind") == kind)["person_id"]]
        figures[f"{kind}_persons"] = len(chosen)
        figures[f"events_of_{kind}_persons"] = int(events_per_person[chosen].sum())
    return figures


def _write_truth(truth_dir: Path, settings: WorldSettings, population: Population,
                 history: SimulatedHistory, optouts: pl.DataFrame) -> None:
    truth_dir.mkdir(parents=True)
    events = history.events
    n_events = np.bincount(events["person"], minlength=population.size)
    # Events are sorted by time: the last occurrence of a person is their latest event.
    reversed_person = events["person"][::-1]
    persons_seen, first_in_reversed = np.unique(reversed_person, return_index=True)
    latest_consent = np.full(population.size, None, dtype=object)
    latest_consent[persons_seen] = events["consent"][::-1][first_in_reversed]
    first_day = settings.first_day

    def day_or_null(day_index: np.ndarray) -> list[date | None]:
        return [first_day + timedelta(days=int(d)) if d >= 0 else None for d in day_index]

    opted = dict(zip(optouts["person_id"].to_list(), optouts["kind"].to_list()))
    persons = pl.DataFrame({
        "person_id": population.person_id,
        "id_type": np.array(ID_TYPES)[population.id_type],
        "home_region": np.array(REGIONS)[population.region],
        "primary_device": np.array(DEVICES)[population.device],
        "openness": population.openness,
        "activity": population.activity,
        "job_affinity": population.job_affinity,
        **{f"affinity__{theme}": population.affinity[:, t] for t, theme in enumerate(THEMES)},
        "consent_withdrawn_on": pl.Series(day_or_null(population.consent_withdrawn_day),
                                          dtype=pl.Date),
        "consent_regranted_on": pl.Series(day_or_null(population.consent_regranted_day),
                                          dtype=pl.Date),
        "latest_consent": pl.Series(latest_consent.tolist(), dtype=pl.Boolean),
        "n_events": n_events,
        # The log-hazard without readiness, as simulate_history used it: with hazard.npy it
        # gives each day's readiness, the hidden state the expected truth starts from.
        "hazard_baseline": population.hazard_baseline().astype(np.float64),
        "optout_kind": pl.Series([opted.get(pid) for pid in population.person_id.tolist()],
                                 dtype=pl.String),
    })
    persons.write_parquet(truth_dir / "persons.parquet")
    np.save(truth_dir / "hazard.npy", history.hazard, allow_pickle=False)

    intents = pl.DataFrame({
        "person_id": population.person_id[history.intents["person"]],
        "day": history.intents["day"],
        "event_type": np.array(EVENT_TYPES)[history.intents["event_type"]],
    })
    intent_days = (
        intents.group_by("person_id", "day", "event_type").agg(n_events=pl.len())
        .with_columns(occurred_on=pl.lit(first_day) + pl.duration(days=pl.col("day")),
                      in_inbox=pl.col("day") < settings.days)
        .select("person_id", "occurred_on", "event_type", "n_events", "in_inbox")
        .sort("occurred_on", "person_id", "event_type")
    )
    intent_days.write_parquet(truth_dir / "intent_days.parquet")
    intent_days.filter(~pl.col("in_inbox")).drop("in_inbox").write_parquet(
        truth_dir / "future_outcomes.parquet")
    (truth_dir / "truth.json").write_text(json.dumps({
        "first_day": first_day.isoformat(),
        "end": settings.end.isoformat(),
        "observed_days": settings.days,
        "future_days": FUTURE_DAYS,
        "hazard_file": "hazard.npy",
        "hazard_rows": "persons.parquet row order",
        "hazard_columns": "day index from first_day",
        "intent_type_shares": INTENT_TYPE_SHARES,
        "truth_version": TRUTH_VERSION,
        "hazard_baseline_column": "hazard_baseline",
        # Recorded so the expected truth does not depend on code constants changing later.
        "readiness_process": {
            **readiness_process_parameters(),
            "day_order": "on day d readiness advances first, then hazard[:, d] = "
                         "exp(hazard_baseline + hazard_readiness * readiness_d)",
            "initial_readiness": "standard normal before day 0 (not recorded)",
        },
    }, indent=2) + "\n")


def _prepare_output(out_dir: Path) -> Path:
    """A fresh sibling folder to build in; refuses to replace a folder that is not a world."""
    if out_dir.exists():
        if not out_dir.is_dir():
            raise FileExistsError(f"{out_dir} exists and is not a folder")
        if any(out_dir.iterdir()) and not (out_dir / "world.json").exists():
            raise FileExistsError(
                f"{out_dir} is not empty and holds no world.json; refusing to overwrite it")
    building = out_dir.parent / f".{out_dir.name}.partial"
    if building.exists():
        shutil.rmtree(building)
    building.mkdir(parents=True)
    return building


def simulate_world(out_dir: Path, settings: WorldSettings,
                   progress: Progress | None = None) -> dict:
    """Write a complete world to `out_dir` (replacing an earlier world there); returns the
    contents of world.json."""
    settings.validate()
    out_dir = Path(out_dir).resolve()
    report = progress or (lambda stage, done, total: None)
    building = _prepare_output(out_dir)
    try:
        summary = _build(building, settings, report)
        if out_dir.exists():
            retired = out_dir.parent / f".{out_dir.name}.old"
            if retired.exists():
                shutil.rmtree(retired)
            out_dir.rename(retired)
            building.rename(out_dir)
            shutil.rmtree(retired)
        else:
            building.rename(out_dir)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return summary


def _build(root: Path, settings: WorldSettings, report: Progress) -> dict:
    population = make_population(_rng(settings.seed, 1), settings.persons, settings.days)
    catalog: Catalog = make_catalog(_rng(settings.seed, 2), settings.first_day)
    content_ids = catalog.frame["content_id"].to_list()
    planted = plant_films(content_ids, catalog.is_film, settings.strong_film, settings.keen_film)
    total_days = settings.days + FUTURE_DAYS
    history = simulate_history(
        _rng(settings.seed, 3), population, catalog, settings.days, FUTURE_DAYS,
        epoch_second(settings.first_day),
        on_day=lambda day: report("simulating days", day + 1, total_days),
        shift_day=settings.shift_day, shift_activity=settings.shift_activity, planted=planted)

    id_salt = settings.seed * 0x2545F4914F6CDD1D + 0x5EED
    vocabulary = Vocabulary.build(
        id_salt, population.person_id, population.id_type,
        population.region, catalog.frame["content_id"].to_list(), settings.end.year)
    files_rng = _rng(settings.seed, 4)
    planned = plan_files(settings, history, files_rng)
    fault_counts: dict[str, int] = {}
    if settings.fault_rate is not None:
        fault_counts = plant_fault_rows_at_rate(planned, settings.fault_rate, history,
                                                 vocabulary, _rng(settings.seed, 5), id_salt)
    elif settings.faults:
        fault_counts = plant_fault_rows(planned, history, vocabulary, _rng(settings.seed, 5),
                                         id_salt)

    inbox = root / "inbox"
    inbox.mkdir()
    steps = len(planned) + 3
    family_counts = {"json": 0, "csv": 0, "parquet": 0}
    for step, file in enumerate(planned):
        nth = family_counts[file.family]
        family_counts[file.family] += 1
        write_event_file(inbox / file.name, file, nth, history, vocabulary, files_rng)
        report("writing files", step + 1, steps)

    quarantined_files: list[dict[str, str]] = []
    skipped_files: list[dict[str, str]] = []
    if settings.faults:
        quarantined_files, skipped_files = plant_bad_files(inbox, planned, files_rng)

    catalog.frame.write_csv(root / "catalog.csv")
    optouts = _write_optouts(root / "optouts.csv", settings, population, history,
                             _rng(settings.seed, 6))
    report("writing files", steps - 1, steps)
    _write_truth(root / "truth", settings, population, history, optouts)
    if planted.any:
        (root / "truth" / "planted_films.json").write_text(
            json.dumps(planted.truth(content_ids), indent=2) + "\n")
    expected = _expected_ingest(planned, history, quarantined_files, skipped_files,
                                fault_counts)
    expected["optouts"] = _optout_figures(population, history, optouts)
    (root / "truth" / "expected_ingest.json").write_text(
        json.dumps(expected, indent=2, ensure_ascii=False) + "\n")
    arguments = {**asdict(settings), "end": settings.end.isoformat(),
                 "shift_from": settings.shift_from and settings.shift_from.isoformat()}
    for name, default in _LATER_SETTINGS.items():
        if arguments[name] == default:
            del arguments[name]  # at its default, a world records what it always did
    summary = {
        "arguments": arguments,
        "first_day": settings.first_day.isoformat(),
        "as_of": (settings.end + timedelta(days=1)).isoformat(),
        "counts": {
            "persons": settings.persons,
            "persons_with_events": expected["persons"],
            "events": expected["events"],
            "intent_events": expected["intent_events"],
            "catalog_items": catalog.size,
            "optouts": optouts.height,
            "inbox_files": len(list(inbox.iterdir())),
            "fault_rows": expected["rows_quarantined_total"],
        },
    }
    (root / "world.json").write_text(json.dumps(summary, indent=2) + "\n")
    report("writing files", steps, steps)
    return summary
