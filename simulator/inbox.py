"""The inbox's event files of a simulated world: planned (which events, repeated where
producers re-deliver), planted with bad rows and bad files, and written in each format."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Protocol

import numpy as np
import polars as pl

from core.contract import (
    EVENT_FIELDS,
    EVENT_TYPES,
)
from simulator import faults as fault_rules
from simulator.behaviour import SECONDS_PER_DAY, SimulatedHistory
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


class InboxLayout(Protocol):
    """What plan_files needs of a world's settings (simulator.world.WorldSettings has it)."""

    days: int
    files_per_format: int
    faults: bool
    unknown_columns: bool

    @property
    def first_day(self) -> date: ...

_JSON_SUFFIXES = ("jsonl.gz", "ndjson", "ndjson.gz", "jsonl")
_CSV_SUFFIXES = ("csv", "csv.gz")
_WITHIN_FILE_DUPLICATE_SHARE = 0.002
_CROSS_FILE_DUPLICATE_SHARE = 0.001
_WRITE_CHUNK_ROWS = 100_000


def epoch_second(day: date) -> int:
    """Seconds since the epoch at the start of `day`, UTC."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def iso_z(second: int) -> str:
    """An epoch second as ISO 8601 in UTC with a Z."""
    return datetime.fromtimestamp(second, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


def plan_files(settings: InboxLayout, history: SimulatedHistory,
               rng: np.random.Generator) -> list[PlannedFile]:
    """Split the days into batches, one file each, formats in turn (json, csv, parquet)."""
    first_second = epoch_second(settings.first_day)
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


def plant_fault_rows(planned: list[PlannedFile], history: SimulatedHistory,
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


def plant_fault_rows_at_rate(planned: list[PlannedFile], rate: float,
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
        document["occurred_at"] = iso_z(int(values["occurred_ms"]) // 1000)
        documents.append(document)
    return documents


def _unknown_column_values(file: PlannedFile, rng: np.random.Generator) -> dict[str, pl.Series]:
    return {name: pl.Series(name, np.array(UNKNOWN_COLUMN_VALUES[name])[
        rng.integers(0, len(UNKNOWN_COLUMN_VALUES[name]), len(file.rows))])
        for name in file.unknown_columns}


def write_event_file(path: Path, file: PlannedFile, nth_in_family: int,
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


def plant_bad_files(inbox: Path, planned: list[PlannedFile], rng: np.random.Generator,
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
