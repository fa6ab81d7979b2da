"""Build a whole synthetic world: inbox files, catalog, opt-outs, truth and expected counts."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from core.contract import (
    DEVICES,
    EVENT_FIELDS,
    EVENT_TYPES,
    ID_TYPES,
    INTENT_EVENT_TYPES,
    THEMES,
)
from simulator import faults as fault_rules
from simulator.behaviour import SECONDS_PER_DAY, SimulatedHistory, simulate_history
from simulator.files import (
    TIMESTAMP_STYLE_WEIGHTS,
    TIMESTAMP_STYLES,
    UNKNOWN_COLUMN_VALUES,
    DeterministicWriter,
    Vocabulary,
    csv_lines,
    csv_text_columns,
    gzip_bytes,
    json_lines,
    parquet_frame,
    typed_rows,
)
from simulator.ids import event_ids
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
_JSON_SUFFIXES = ("jsonl.gz", "ndjson", "ndjson.gz", "jsonl")
_CSV_SUFFIXES = ("csv", "csv.gz")
_WITHIN_FILE_DUPLICATE_SHARE = 0.002
_CROSS_FILE_DUPLICATE_SHARE = 0.001
_WRITE_CHUNK_ROWS = 100_000

Progress = Callable[[str, int, int], None]
# Settings added after worlds first recorded their arguments, with their defaults.
_LATER_SETTINGS = {"fault_rate": None, "unknown_columns": True}


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


@dataclass
class PlannedFile:
    """One inbox file of events: which honest events (with repeats) and which fault rows."""

    name: str
    suffix: str
    rows: np.ndarray  # honest event indices, repeats included
    positions: np.ndarray  # order of rows in the file
    faults: list[fault_rules.FaultRow]
    unknown_columns: tuple[str, ...]
    within_file_duplicates: int = 0
    cross_file_duplicates: int = 0

    @property
    def family(self) -> str:
        return "json" if "json" in self.suffix else self.suffix.split(".")[0]


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream])


def _epoch_second(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def _iso_z(epoch_second: int) -> str:
    return datetime.fromtimestamp(epoch_second, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _plan_files(settings: WorldSettings, history: SimulatedHistory,
                rng: np.random.Generator) -> list[PlannedFile]:
    """Split the days into batches, one file each, formats in turn (json, csv, parquet)."""
    first_second = _epoch_second(settings.first_day)
    batches = min(3 * settings.files_per_format, settings.days)
    bounds = np.linspace(0, settings.days, batches + 1).round().astype(int)
    event_day = (history.events["second"] - first_second) // SECONDS_PER_DAY
    starts = np.searchsorted(event_day, bounds[:-1], side="left")
    stops = np.searchsorted(event_day, bounds[1:], side="left")
    planned: list[PlannedFile] = []
    family_counts = {"json": 0, "csv": 0, "parquet": 0}
    for batch in range(batches):
        family = ("json", "csv", "parquet")[batch % 3]
        nth = family_counts[family]
        family_counts[family] += 1
        suffix = {"json": _JSON_SUFFIXES[nth % len(_JSON_SUFFIXES)],
                  "csv": _CSV_SUFFIXES[nth % len(_CSV_SUFFIXES)], "parquet": "parquet"}[family]
        first = settings.first_day + timedelta(days=int(bounds[batch]))
        last = settings.first_day + timedelta(days=int(bounds[batch + 1]) - 1)
        rows = np.arange(starts[batch], stops[batch], dtype=np.int64)
        planned.append(PlannedFile(
            name=f"events-{first:%Y%m%d}-{last:%Y%m%d}-{batch + 1:02d}.{suffix}", suffix=suffix,
            rows=rows, positions=np.arange(len(rows), dtype=np.float64), faults=[],
            unknown_columns=(),
        ))
    if settings.faults:
        _plant_row_duplicates(planned, rng)
        if settings.unknown_columns:
            _plant_unknown_columns(planned)
    return planned


def _plant_row_duplicates(planned: list[PlannedFile], rng: np.random.Generator) -> None:
    """Repeat some events inside their own file and re-deliver some in the next file."""
    previous_rows = None
    for file in planned:
        original, length = file.rows, len(file.rows)
        if length:
            within = rng.choice(length, size=max(2, round(_WITHIN_FILE_DUPLICATE_SHARE * length)))
            file.rows = np.concatenate([file.rows, original[within]])
            file.positions = np.concatenate(
                [file.positions, within + rng.uniform(0.5, 40.0, len(within))])
            file.within_file_duplicates = len(within)
        if previous_rows is not None and len(previous_rows):
            count = min(len(previous_rows),
                        max(2, round(_CROSS_FILE_DUPLICATE_SHARE * len(previous_rows))))
            again = previous_rows[rng.choice(len(previous_rows), size=count, replace=False)]
            file.rows = np.concatenate([file.rows, again])
            file.positions = np.concatenate(
                [file.positions, rng.uniform(0, min(max(length, 1), 100), count)])
            file.cross_file_duplicates = count
        previous_rows = original


def _plant_unknown_columns(planned: list[PlannedFile]) -> None:
    firsts: dict[str, PlannedFile] = {}
    for file in planned:
        firsts.setdefault(file.family, file)
    extra = {"json": ("utm_source", "ab_variant"), "csv": ("utm_source",),
             "parquet": ("ab_variant",)}
    for family, file in firsts.items():
        file.unknown_columns = extra[family]


def _text_files(planned: list[PlannedFile]) -> list[PlannedFile]:
    text_files = [file for file in planned if file.family in ("json", "csv") and len(file.rows)]
    if not text_files:
        raise ValueError("no JSON or CSV file to plant faults in; use more days")
    return text_files


def _plant_fault_rows(planned: list[PlannedFile], history: SimulatedHistory,
                      vocabulary: Vocabulary, rng: np.random.Generator,
                      id_salt: int) -> dict[str, int]:
    """Add the fault rows to the text files; returns the count per reason."""
    text_files = _text_files(planned)
    counts = fault_rules.faults_per_reason(len(history.events["person"]))
    plan = [(text_files[(reason_index + variant) % len(text_files)], reason, variant)
            for reason_index, (reason, count) in enumerate(counts.items())
            for variant in range(count)]
    _add_fault_rows(plan, history, vocabulary, rng, id_salt)
    return counts


def _plant_fault_rows_at_rate(planned: list[PlannedFile], rate: float,
                              history: SimulatedHistory, vocabulary: Vocabulary,
                              rng: np.random.Generator, id_salt: int) -> dict[str, int]:
    """Add bad rows at `rate` of each text file's rows (at least one per file when the rate is
    above 0), the reasons in turn across all files so each kind is planted about equally;
    returns the count per reason."""
    plan: list[tuple[PlannedFile, str, int]] = []
    for file in _text_files(planned):
        wanted = round(rate * len(file.rows))
        for _ in range(max(wanted, 1) if rate > 0 else 0):
            nth = len(plan)
            reasons = fault_rules.FAULT_REASONS
            plan.append((file, reasons[nth % len(reasons)], nth // len(reasons)))
    _add_fault_rows(plan, history, vocabulary, rng, id_salt)
    counts = dict.fromkeys(fault_rules.FAULT_REASONS, 0)
    for _, reason, _ in plan:
        counts[reason] += 1
    return counts


def _add_fault_rows(plan: list[tuple[PlannedFile, str, int]], history: SimulatedHistory,
                    vocabulary: Vocabulary, rng: np.random.Generator, id_salt: int) -> None:
    """Plant one row per (file, reason, variant), each a copy of an honest impression of its
    file with one rule broken, at a random place in the file."""
    if not plan:
        return
    is_impression = history.events["event_type"] == EVENT_TYPES.index("impression")
    honest_total = len(history.events["person"])
    # Fault rows take ids after the honest ones: never equal to a valid event's id.
    fault_ids = event_ids(np.arange(honest_total, honest_total + len(plan)), id_salt)
    pools: dict[str, np.ndarray] = {}
    chosen, positions = [], []
    for file, _, _ in plan:
        if file.name not in pools:
            impressions = file.rows[is_impression[file.rows]]
            pools[file.name] = impressions if len(impressions) else file.rows
        pool = pools[file.name]
        chosen.append(int(pool[rng.integers(len(pool))]))
        positions.append(float(rng.uniform(0, max(len(file.rows), 1))))
    templates = _template_values(history, vocabulary, np.array(chosen, dtype=np.int64))
    for (file, reason, variant), template, fault_id, position in zip(
            plan, templates, fault_ids, positions, strict=True):
        template["event_id"] = str(fault_id)
        row = fault_rules.break_rule(reason, variant, template, for_json=file.family == "json")
        row.position = position
        file.faults.append(row)


def _template_values(history: SimulatedHistory, vocabulary: Vocabulary,
                     rows: np.ndarray) -> list[dict[str, object]]:
    """The contract's fields of honest events `rows`, typed, with occurred_at as UTC text."""
    frame = typed_rows(history.events, rows, vocabulary,
                       np.full(len(rows), TIMESTAMP_STYLES.index("utc_z")))
    documents = []
    for values in frame.iter_rows(named=True):
        document = {name: values.get(name) for name in EVENT_FIELDS}
        document["occurred_at"] = _iso_z(int(values["occurred_ms"]) // 1000)
        documents.append(document)
    return documents


def _unknown_column_values(file: PlannedFile, rng: np.random.Generator) -> dict[str, pl.Series]:
    return {name: pl.Series(name, np.array(UNKNOWN_COLUMN_VALUES[name])[
        rng.integers(0, len(UNKNOWN_COLUMN_VALUES[name]), len(file.rows))])
        for name in file.unknown_columns}


def _write_event_file(path: Path, file: PlannedFile, nth_in_family: int,
                      history: SimulatedHistory, vocabulary: Vocabulary,
                      rng: np.random.Generator) -> None:
    """Write the file's rows in position order with its fault rows among them, in chunks so
    memory stays flat whatever the file size."""
    if file.family == "parquet":
        # A Parquet column has one type: alternate files between epoch ms and ISO text.
        epoch_ms = nth_in_family % 2 == 1
        styles = rng.choice(2, size=len(file.rows), p=[0.6, 0.4])
    else:
        epoch_ms = False
        styles = rng.choice(len(TIMESTAMP_STYLES), size=len(file.rows), p=TIMESTAMP_STYLE_WEIGHTS)
    unknown_values = _unknown_column_values(file, rng)
    order = np.argsort(file.positions, kind="stable")

    def chunk_frame(chosen: np.ndarray) -> pl.DataFrame:
        frame = typed_rows(history.events, file.rows[chosen], vocabulary, styles[chosen])
        index = pl.Series(chosen.astype(np.int64))
        return frame.with_columns(**{name: values.gather(index)
                                     for name, values in unknown_values.items()})

    if file.family == "parquet":
        parquet_frame(chunk_frame(order), epoch_ms, file.unknown_columns).write_parquet(
            path, compression="zstd", statistics=True)
        return

    if file.family == "json":
        fields = (*EVENT_FIELDS, *file.unknown_columns)
        header = None
        fault_lines = [fault_rules.fault_json_line(row, fields) for row in file.faults]
        to_lines = lambda frame: json_lines(frame, file.unknown_columns)
    else:
        ones_and_zeros = nth_in_family % 2 == 1
        column_order = [str(name) for name in
                        rng.permutation(list(EVENT_FIELDS) + list(file.unknown_columns))]
        header = ",".join(column_order) + "\n"
        fault_lines = [fault_rules.fault_csv_line(row, column_order, ones_and_zeros)
                       for row in file.faults]
        to_lines = lambda frame: csv_lines(
            csv_text_columns(frame, ones_and_zeros), column_order, quote_values=ones_and_zeros)

    # One sequence of honest rows (by position) and fault rows (index -1 - k), then in chunks.
    positions = np.concatenate([file.positions[order],
                                np.array([row.position for row in file.faults])])
    items = np.concatenate([order, -1 - np.arange(len(file.faults))])
    items = items[np.argsort(positions, kind="stable")]
    with DeterministicWriter(path, compress=file.suffix.endswith(".gz")) as out:
        if header is not None:
            out.write_text(header)
        for start in range(0, len(items), _WRITE_CHUNK_ROWS):
            chunk = items[start:start + _WRITE_CHUNK_ROWS]
            honest = chunk >= 0
            lines = to_lines(chunk_frame(chunk[honest]))
            if honest.all():
                out.write_lines(lines)
                continue
            faulty = pl.Series("line", [fault_lines[-1 - k] for k in chunk[~honest]],
                               dtype=pl.String)
            merged = pl.concat([
                pl.DataFrame({"at": np.flatnonzero(honest), "line": lines}),
                pl.DataFrame({"at": np.flatnonzero(~honest), "line": faulty}),
            ]).sort("at")
            out.write_lines(merged["line"])


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
        "first_event_at": _iso_z(int(seconds.min())),
        "last_event_at": _iso_z(int(seconds.max())),
        "files": per_file,
    }


def _write_optouts(path: Path, settings: WorldSettings, population: Population,
                   history: SimulatedHistory, rng: np.random.Generator) -> pl.DataFrame:
    active = np.unique(history.events["person"])
    count = min(len(active), max(1, round(0.005 * settings.persons)))
    chosen = np.sort(rng.choice(active, size=count, replace=False))
    end_second = _epoch_second(settings.end) + SECONDS_PER_DAY
    requested = end_second - rng.integers(3600, 20 * SECONDS_PER_DAY, size=count)
    frame = pl.DataFrame({
        "person_id": population.person_id[chosen],
        "requested_at": [_iso_z(int(second)) for second in requested],
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
    total_days = settings.days + FUTURE_DAYS
    history = simulate_history(
        _rng(settings.seed, 3), population, catalog, settings.days, FUTURE_DAYS,
        _epoch_second(settings.first_day),
        on_day=lambda day: report("simulating days", day + 1, total_days))

    id_salt = settings.seed * 0x2545F4914F6CDD1D + 0x5EED
    vocabulary = Vocabulary.build(
        id_salt, population.person_id, population.id_type,
        population.region, catalog.frame["content_id"].to_list(), settings.end.year)
    files_rng = _rng(settings.seed, 4)
    planned = _plan_files(settings, history, files_rng)
    fault_counts: dict[str, int] = {}
    if settings.fault_rate is not None:
        fault_counts = _plant_fault_rows_at_rate(planned, settings.fault_rate, history,
                                                 vocabulary, _rng(settings.seed, 5), id_salt)
    elif settings.faults:
        fault_counts = _plant_fault_rows(planned, history, vocabulary, _rng(settings.seed, 5),
                                         id_salt)

    inbox = root / "inbox"
    inbox.mkdir()
    steps = len(planned) + 3
    family_counts = {"json": 0, "csv": 0, "parquet": 0}
    for step, file in enumerate(planned):
        nth = family_counts[file.family]
        family_counts[file.family] += 1
        _write_event_file(inbox / file.name, file, nth, history, vocabulary, files_rng)
        report("writing files", step + 1, steps)

    quarantined_files: list[dict[str, str]] = []
    skipped_files: list[dict[str, str]] = []
    if settings.faults:
        quarantined_files, skipped_files = _plant_bad_files(inbox, planned, files_rng)

    catalog.frame.write_csv(root / "catalog.csv")
    optouts = _write_optouts(root / "optouts.csv", settings, population, history,
                             _rng(settings.seed, 6))
    report("writing files", steps - 1, steps)
    _write_truth(root / "truth", settings, population, history, optouts)
    expected = _expected_ingest(planned, history, quarantined_files, skipped_files,
                                fault_counts)
    expected["optouts"] = _optout_figures(population, history, optouts)
    (root / "truth" / "expected_ingest.json").write_text(
        json.dumps(expected, indent=2, ensure_ascii=False) + "\n")
    arguments = {**asdict(settings), "end": settings.end.isoformat()}
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


def _plant_bad_files(inbox: Path, planned: list[PlannedFile], rng: np.random.Generator,
                     ) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """A file delivered twice, a gzip cut off mid-stream, and a file nobody can read."""
    parquet_files = [file.name for file in planned if file.family == "parquet"]
    largest_json = max((file for file in planned if file.family == "json"),
                       key=lambda file: len(file.rows))
    original = parquet_files[-1]
    copy_name = f"redelivered-{original}"
    shutil.copyfile(inbox / original, inbox / copy_name)

    source = largest_json.name
    content = (inbox / source).read_bytes()
    compressed = content if source.endswith(".gz") else gzip_bytes(content)
    truncated_name = f"upload-interrupted-{source.split('.')[0]}.jsonl.gz"
    # Cut inside the deflate stream: well before the end-of-stream marker and the trailer.
    (inbox / truncated_name).write_bytes(compressed[: len(compressed) // 2])

    junk_name = "events-export.xlsx"
    junk = b"PK\x03\x04" + rng.integers(0, 256, size=4096, dtype=np.uint8).tobytes()
    (inbox / junk_name).write_bytes(junk)
    return (
        [{"file": truncated_name, "reason": "unreadable_file"},
         {"file": junk_name, "reason": "unknown_extension"}],
        [{"file": copy_name, "same_content_as": original}],
    )
