"""Loading event files from an inbox into the warehouse, as shared/CONTRACT.md §1 says.

Clean files, the everyday case, take the direct load: consecutive files (in name order) are read
together by DuckDB's own readers straight into raw.events through one check per row
(warehouse/sql/queries/direct_events.sql), and one transaction writes their events and their
raw.ingest_files records. A file with any bad row, unknown column or unusual layout is loaded on
its own through the line-checked path instead: its rows stream into a temp table of checked rows
(warehouse/sql/queries/validate_events.sql), then one transaction writes its events, its
quarantined rows and its record together. Either way a file's events and its record commit
together. A file is known by the SHA-256 of its content, so a rerun, or the same content under
another name, loads nothing twice; a run killed at any moment leaves whole files or nothing.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from isal import isal_zlib

from core.contract import (
    DEVICES,
    ENGAGEMENT_EVENT_TYPES,
    EVENT_FIELDS,
    EVENT_ID_MAX_LENGTH,
    EVENT_TYPES,
    ID_TYPES,
    MAX_FUTURE_SKEW_HOURS,
    MAX_WATCH_SECONDS,
    looks_like_pii,
    stored_file_name,
)
from warehouse.catalog import CatalogReport, load_catalog
from warehouse.db import open_warehouse
from warehouse.sql_files import (
    compose_insert,
    compose_query,
    read_sql,
    reader_path,
    suffixed_parameters,
    union_of,
)

# Longest suffix first, so "x.csv.gz" is CSV and not an unknown ".gz".
FORMAT_BY_SUFFIX = {
    ".jsonl.gz": "jsonl", ".ndjson.gz": "jsonl", ".csv.gz": "csv",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet",
}
HEADER_LINES = {"jsonl": 0, "csv": 1, "parquet": 0}
# Raw control character that valid JSON text never contains, used as the "column" delimiter so
# each JSON line is read whole.
JSONL_DELIMITER = "\x1f"
WITHHELD_COLUMN_NAME = "<name withheld: looks personal>"
_CHUNK_BYTES = 1 << 20
# How much of a file's (decompressed) text digest_file keeps, to tell its content's format.
_HEAD_BYTES = 1 << 16
# WAL size at which a commit also checkpoints during ingestion (see ingest_inbox).
_CHECKPOINT_THRESHOLD = "1GB"
# A direct-load batch ends at this many files or bytes: a batch commits as one transaction, and
# a bad row anywhere in it sends all its files back to be loaded one by one.
_BATCH_MAX_FILES = 64
_BATCH_MAX_BYTES = 1 << 30
# Events before this are implausible (no campaign ran then): an epoch in seconds read as
# milliseconds, say, lands in January 1970. IngestSettings.earliest_occurred_at moves it.
DEFAULT_EARLIEST_OCCURRED_AT = datetime(2020, 1, 1, tzinfo=UTC)
# Whole-file reasons that refuse a content for its name only: the same content under a name
# that says another format is tried again (see ingest_file).
_REFUSED_FOR_NAME = ("unknown_extension", "content_does_not_match_extension")


class InboxError(ValueError):
    """The inbox cannot be read at all (missing, not a folder)."""


@dataclass
class FileResult:
    """What happened to one file of the inbox."""

    file_name: str
    file_sha256: str
    status: str  # loaded | quarantined | already_loaded
    file_format: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    duplicates_skipped: int = 0
    suppressed_dropped: int = 0
    unknown_columns: tuple[str, ...] = ()
    failure_reason: str | None = None
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    # "direct" (read once, written once) or "line_checked" (every line checked, bad rows
    # quarantined); None for a file not loaded
    load_path: str | None = None


@dataclass
class IngestReport:
    """Totals of one `ingest_inbox` run."""

    files: list[FileResult]
    catalog: CatalogReport | None
    seconds: float

    def _with_status(self, status: str) -> list[FileResult]:
        return [result for result in self.files if result.status == status]

    @property
    def files_loaded(self) -> int:
        return len(self._with_status("loaded"))

    @property
    def files_quarantined(self) -> int:
        return len(self._with_status("quarantined"))

    @property
    def files_already_loaded(self) -> int:
        return len(self._with_status("already_loaded"))

    @property
    def rows_read(self) -> int:
        return sum(result.rows_read for result in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(result.rows_loaded for result in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(result.rows_quarantined for result in self.files)

    @property
    def duplicates_skipped(self) -> int:
        return sum(result.duplicates_skipped for result in self.files)

    @property
    def suppressed_dropped(self) -> int:
        return sum(result.suppressed_dropped for result in self.files)

    @property
    def quarantined_by_reason(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for result in self.files:
            total.update(result.quarantined_by_reason)
        return dict(sorted(total.items()))

    @property
    def anything_quarantined(self) -> bool:
        return self.files_quarantined > 0 or self.rows_quarantined > 0 or bool(
            self.catalog and self.catalog.rows_rejected)

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds > 0 else 0.0


ProgressCallback = Callable[[FileResult, int, int], None]


def list_event_files(inbox: str | os.PathLike[str]) -> list[Path]:
    """Every file under the inbox, in name order; hidden files (being written) are left alone."""
    inbox = Path(inbox)
    if not inbox.exists():
        raise InboxError(f"inbox {inbox} does not exist")
    if not inbox.is_dir():
        raise InboxError(f"inbox {inbox} is not a folder")
    return sorted(
        path for path in inbox.rglob("*")
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(inbox).parts)
    )


def format_of(path: Path) -> str | None:
    """jsonl, csv or parquet by the file's suffix; None for anything else."""
    name = path.name.lower()
    for suffix, file_format in FORMAT_BY_SUFFIX.items():
        if name.endswith(suffix):
            return file_format
    return None


_PARQUET_MAGIC = b"PAR1"
_GZIP_MAGIC = b"\x1f\x8b"
# Separators a producer may use instead of the contract's comma.
_OTHER_SEPARATORS = (";", "\t", "|")


def content_refusal(head: bytes, file_format: str) -> str | None:
    """Why the whole file is refused for what its first bytes hold, or None to read it.

    `content_does_not_match_extension` for content plainly of another format than the name
    says (JSON lines named .csv, a CSV header named .jsonl, Parquet or gzip bytes under a text
    name, text named .parquet): read as the named format it would load nothing, or junk.
    `wrong_separator` for a CSV whose header names the contract's fields split by ';', a tab or
    '|' instead of ','. Content that is none of these is left to the reader to judge.
    """
    sniffed = _sniffed_format(head)
    if sniffed is None or sniffed == file_format:
        return None
    if file_format == "csv" and sniffed == "csv_other_separator":
        return "wrong_separator"
    return "content_does_not_match_extension"


def _sniffed_format(head: bytes) -> str | None:
    """parquet, gzip, jsonl (a first line that opens an object), csv or csv_other_separator (a
    first line naming contract fields split by ',' or by another separator), or None."""
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    if head.startswith(_GZIP_MAGIC):
        return "gzip"
    first_line = _first_line(head)
    if first_line is None:
        return None
    stripped = first_line.strip()
    if stripped.startswith("{"):
        return "jsonl"
    if _names_contract_fields(stripped, ","):
        return "csv"
    if any(_names_contract_fields(stripped, separator) for separator in _OTHER_SEPARATORS):
        return "csv_other_separator"
    return None


def _first_line(head: bytes) -> str | None:
    """The first line that is not blank, as text; None when it is not UTF-8 (or there is
    none)."""
    for raw_line in head.removeprefix(b"\xef\xbb\xbf").split(b"\n"):
        if raw_line.strip():
            try:
                return raw_line.decode("utf-8")
            except UnicodeDecodeError:
                # cut in the middle of a character at the end of the head, or not UTF-8
                return None
    return None


def _names_contract_fields(line: str, separator: str) -> bool:
    """True when `line`, split by `separator`, holds at least two of the contract's field names
    (quoted or not), as a CSV header does."""
    names = {name.strip().strip('"').strip() for name in line.split(separator)}
    return len(names & set(EVENT_FIELDS)) >= 2


@dataclass(frozen=True)
class FileDigest:
    """What one read of a file's bytes tells before loading it."""

    sha256: str
    intact: bool  # for gzip: the stream is complete and its CRCs match
    lines: int  # lines of the (decompressed) text; a last line without a newline counts
    head: bytes = b""  # the first _HEAD_BYTES of the (decompressed) content


def digest_file(path: Path) -> FileDigest:
    """SHA-256 of the content, gzip integrity and the number of text lines, in one pass.

    DuckDB reads a truncated gzip file without complaint up to the cut, so the check is here.
    The line count lets a direct load prove that its reader saw every line as a row. ISA-L
    inflates about twice as fast as zlib; both hashing and inflating release the GIL, so several
    files are digested at once (digest_files).
    """
    sha = hashlib.sha256()
    is_gzip = path.name.lower().endswith(".gz")
    inflater = isal_zlib.decompressobj(wbits=31) if is_gzip else None
    intact = True
    newlines = 0
    last_byte = b"\n"
    head = b""
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK_BYTES):
            sha.update(chunk)
            if inflater is None:
                newlines += chunk.count(b"\n")
                last_byte = chunk[-1:]
                if len(head) < _HEAD_BYTES:
                    head += chunk[:_HEAD_BYTES - len(head)]
            elif intact:
                try:
                    data = chunk
                    # A gzip file may hold several members one after another.
                    while data:
                        text = inflater.decompress(data)
                        if text:
                            newlines += text.count(b"\n")
                            last_byte = text[-1:]
                            if len(head) < _HEAD_BYTES:
                                head += text[:_HEAD_BYTES - len(head)]
                        data = inflater.unused_data if inflater.eof else b""
                        if data:
                            inflater = isal_zlib.decompressobj(wbits=31)
                except isal_zlib.error:
                    intact = False
    if inflater is not None and intact:
        intact = inflater.eof
    lines = newlines + (0 if last_byte == b"\n" else 1)
    return FileDigest(sha.hexdigest(), intact, lines, head)


def digest_files(paths: list[Path]) -> Iterator[FileDigest]:
    """digest_file of each path, in order, computed on every core ahead of the caller."""
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        yield from pool.map(digest_file, paths)


def ingest_inbox(
    warehouse_path: str | os.PathLike[str],
    inbox: str | os.PathLike[str],
    catalog: str | os.PathLike[str] | None = None,
    *,
    strict: bool = False,
    progress: ProgressCallback | None = None,
    direct_load: bool = True,
    earliest_occurred_at: datetime = DEFAULT_EARLIEST_OCCURRED_AT,
) -> IngestReport:
    """Load every event file of `inbox` not loaded before, and upsert the content catalog.

    With `strict`, raise StrictIngestError (carrying the report) after the run if anything
    was quarantined; everything valid is loaded either way. `direct_load=False` checks every
    file line by line, one by one (see ingest_file). An event before `earliest_occurred_at` is
    quarantined as bad_occurred_at.
    """
    started = time.perf_counter()
    files = list_event_files(inbox)
    inbox = Path(inbox)
    catalog_report = None
    with open_warehouse(warehouse_path) as con:
        # DuckDB's own bar would interleave with the caller's progress display.
        con.execute("set enable_progress_bar = false")
        # Each file or batch commits on its own (a killed run keeps whole files), but a file of
        # ~100k rows writes ~16 MiB of WAL, DuckDB's default checkpoint threshold, so every
        # commit also checkpointed, rewriting the table's last, partly filled row group each
        # time. With a larger threshold the commits only append to the WAL and the run
        # checkpoints once at the end (measured: commit + checkpoint CPU ~1.4 s -> ~1.0 s for 4
        # files, 335k rows). Durability is the same: a committed file is in the WAL, replayed on
        # the next open.
        con.execute(f"set checkpoint_threshold = '{_CHECKPOINT_THRESHOLD}'")
        con.execute(read_sql("queries/contract_macros.sql"))
        if catalog is not None:
            catalog_report = load_catalog(con, Path(catalog))
        results = _ingest_files(con, inbox, files, direct_load=direct_load, progress=progress,
                                earliest_occurred_at=earliest_occurred_at)
        con.execute("checkpoint")
    report = IngestReport(results, catalog_report, time.perf_counter() - started)
    if strict and report.anything_quarantined:
        raise StrictIngestError(report)
    return report


class StrictIngestError(RuntimeError):
    """--strict was asked for and something was quarantined."""

    def __init__(self, report: IngestReport) -> None:
        super().__init__(
            f"{report.files_quarantined} file(s) and {report.rows_quarantined} row(s) quarantined")
        self.report = report


def _ingest_files(con: duckdb.DuckDBPyConnection, inbox: Path, files: list[Path], *,
                  direct_load: bool, progress: ProgressCallback | None,
                  earliest_occurred_at: datetime) -> list[FileResult]:
    """Every file in name order: runs of consecutive direct-load candidates as batches (see
    _load_direct_batch), any other file on its own (ingest_file); `direct_load=False` sends
    every file to ingest_file.

    Only consecutive files share a batch, so when two files carry the same event_id the earlier
    name keeps it, as when every file loads on its own.
    """
    results: list[FileResult] = []
    batch: list[_DirectCandidate] = []

    def record(result: FileResult) -> None:
        results.append(result)
        if progress is not None:
            progress(result, len(results), len(files))

    def load_batch() -> None:
        loaded = _load_direct_batch(con, batch, earliest_occurred_at) if batch else []
        if loaded is None:
            # Some file of the batch needs the line-checked path: each file on its own, tried
            # directly again unless it was alone.
            for candidate in batch:
                alone = (_load_direct_batch(con, [candidate], earliest_occurred_at)
                         if len(batch) > 1 else None)
                record(alone[0] if alone else ingest_file(
                    con, candidate.path, candidate.file_name, candidate.digest,
                    earliest_occurred_at=earliest_occurred_at))
        else:
            for result in loaded:
                record(result)
        batch.clear()

    for path, digest in zip(files, digest_files(files), strict=True):
        # A name that looks personal is never stored, reported or logged (CONTRACT §1).
        file_name = stored_file_name(path.relative_to(inbox).as_posix(), digest.sha256)
        candidate = (_direct_candidate(con, path, file_name, digest, batch)
                     if direct_load else None)
        if candidate is None:
            load_batch()
            record(ingest_file(con, path, file_name, digest,
                               earliest_occurred_at=earliest_occurred_at))
            continue
        batch_bytes = sum(member.size for member in batch)
        if batch and (len(batch) >= _BATCH_MAX_FILES
                      or batch_bytes + candidate.size > _BATCH_MAX_BYTES):
            load_batch()
        batch.append(candidate)
    load_batch()
    return results


def ingest_file(con: duckdb.DuckDBPyConnection, path: Path, file_name: str,
                digest: FileDigest, *,
                earliest_occurred_at: datetime = DEFAULT_EARLIEST_OCCURRED_AT) -> FileResult:
    """One file on its own, in one transaction, through the line-checked path (which
    quarantines each bad row with its reason), unless it was loaded before or cannot be read at
    all; the contract macros must already be on `con`. `digest` is the file's digest_file."""
    started = time.perf_counter()
    file_sha256 = digest.sha256
    file_format = format_of(path)
    seen = con.execute(
        "select status, failure_reason, file_format from raw.ingest_files where file_sha256 = ?",
        [file_sha256]).fetchone()
    # Content refused only for its name (an unknown extension, or one that says another format
    # than the content is) is tried again under a name that says another format; its manifest
    # row is then replaced in the same transaction as the load.
    renamed_after_refusal = (
        seen is not None and seen[0] == "quarantined" and seen[1] in _REFUSED_FOR_NAME
        and file_format is not None and file_format != seen[2])
    if seen and not renamed_after_refusal:
        return FileResult(file_name, file_sha256, "already_loaded", file_format,
                          seconds=time.perf_counter() - started)
    if file_format is None:
        return _quarantine_file(con, file_name, file_sha256, "unknown", "unknown_extension", started)
    if not digest.intact:
        return _quarantine_file(con, file_name, file_sha256, file_format, "unreadable_file", started)
    refusal = content_refusal(digest.head, file_format)
    if refusal is not None:
        return _quarantine_file(con, file_name, file_sha256, file_format, refusal, started)
    try:
        unknown_columns = _stage_checked_rows(con, path, file_format, earliest_occurred_at)
    except (duckdb.Error, UnicodeDecodeError, csv.Error, _UnreadableHeader):
        # The reader's message may quote the file's content, so only the reason is kept.
        return _quarantine_file(con, file_name, file_sha256, file_format, "unreadable_file", started)
    if file_format == "csv" and _has_data_lines(digest.head) and _staged_nothing(con):
        # DuckDB's CSV reader can take every row into one unterminated quoted field without a
        # reject (quotes inside fields, as JSON has): rows that yield nothing are not "loaded".
        _drop_staging(con)
        return _quarantine_file(con, file_name, file_sha256, file_format, "unreadable_file", started)
    try:
        return _load_checked_rows(con, file_name, file_sha256, file_format, unknown_columns,
                                  started)
    finally:
        _drop_staging(con)


def _has_data_lines(head: bytes) -> bool:
    """True when a non-blank line follows the first non-blank line (a CSV's header)."""
    non_blank = [line for line in head.split(b"\n") if line.strip()]
    return len(non_blank) > 1


def _staged_nothing(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the staged file gave neither a row nor a rejected line."""
    return con.execute("select (select count(*) from ingest_checked) "
                       "+ (select count(*) from ingest_rejected_lines) = 0").fetchone()[0]


def _contract_rule_params(earliest_occurred_at: datetime) -> dict[str, object]:
    """The contract's limits and value lists, as both validate_events.sql and direct_events.sql
    bind them; the clock is read now, for the future-time rule. Times are bound as naive UTC,
    as occurred_at is stored."""
    return {
        "loaded_at": datetime.now(UTC).replace(tzinfo=None),
        "earliest_occurred_at": earliest_occurred_at.astimezone(UTC).replace(tzinfo=None),
        "max_future_hours": MAX_FUTURE_SKEW_HOURS,
        "max_event_id_length": EVENT_ID_MAX_LENGTH,
        "max_watch_seconds": float(MAX_WATCH_SECONDS),
        "id_types": list(ID_TYPES), "event_types": list(EVENT_TYPES),
        "engagement_types": list(ENGAGEMENT_EVENT_TYPES), "devices": list(DEVICES),
    }


class _UnreadableHeader(ValueError):
    """A CSV whose header cannot name its columns."""


def _quarantine_file(con: duckdb.DuckDBPyConnection, file_name: str, file_sha256: str,
                     file_format: str, reason: str, started: float) -> FileResult:
    result = FileResult(file_name, file_sha256, "quarantined", file_format,
                        failure_reason=reason, seconds=time.perf_counter() - started)
    _record_file(con, result, datetime.now(UTC))
    return result


def _record_file(con: duckdb.DuckDBPyConnection, result: FileResult,
                 ingested_at: datetime) -> None:
    """The file's row in raw.ingest_files; a loaded file's goes in its load's transaction."""
    con.execute(
        read_sql("queries/insert_ingest_file.sql"),
        {"file_sha256": result.file_sha256, "file_name": result.file_name,
         "file_format": result.file_format, "status": result.status,
         "rows_read": result.rows_read, "rows_loaded": result.rows_loaded,
         "rows_quarantined": result.rows_quarantined,
         "duplicates_skipped": result.duplicates_skipped,
         "suppressed_dropped": result.suppressed_dropped,
         "unknown_columns": list(result.unknown_columns), "failure_reason": result.failure_reason,
         "seconds": result.seconds, "ingested_at": ingested_at},
    )


def _csv_header(path: Path) -> list[str]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as raw:
        # Only the header line is decoded: a row further on that is not UTF-8 is the reader's
        # to quarantine, not a reason to refuse the file.
        header_line = raw.readline().decode("utf-8-sig")
    header = next(csv.reader(io.StringIO(header_line, newline="")), None)
    if not header:
        raise _UnreadableHeader("no header row")
    names = [name.strip() for name in header]
    if len(set(names)) != len(names) or "" in names:
        raise _UnreadableHeader("header names repeat or are empty")
    return names


def _stage_checked_rows(con: duckdb.DuckDBPyConnection, path: Path, file_format: str,
                        earliest_occurred_at: datetime) -> list[str]:
    """Read and check the file into temp table ingest_checked; returns its unknown columns."""
    _drop_staging(con)
    if file_format == "jsonl":
        read_params: dict[str, object] = {"path": reader_path(path),
                                          "delimiter": JSONL_DELIMITER}
    elif file_format == "csv":
        names = _csv_header(path)
        read_params = {
            "path": reader_path(path),
            "columns": {f"c{position}": "VARCHAR" for position in range(1, len(names) + 1)},
            "field_names": names,
        }
    else:
        names = [row[0] for row in con.execute(
            "describe select * from read_parquet(?)", [reader_path(path)]).fetchall()]
        read_params = {"path": reader_path(path), "field_names": names}
    # One statement, so the file streams from reader through validation into the temp table.
    con.execute(
        compose_query("ingest_source", read_sql(f"queries/read_{file_format}.sql"),
                 read_sql("queries/validate_events.sql"), "ingest_checked"),
        read_params | _contract_rule_params(earliest_occurred_at)
        | {"contract_fields": list(EVENT_FIELDS)},
    )
    rejects_exist = con.execute(
        "select count(*) from duckdb_tables() where table_name = 'ingest_reject_errors'"
    ).fetchone()[0]
    if rejects_exist:
        con.execute("create or replace temp table ingest_rejected_lines as "
                    "select distinct line from ingest_reject_errors")
    else:
        con.execute("create or replace temp table ingest_rejected_lines (line bigint)")
    if con.execute("select count(*) from ingest_rejected_lines").fetchone()[0]:
        con.execute(read_sql("queries/line_offsets.sql"),
                    {"header_lines": HEADER_LINES[file_format]})
        con.execute(read_sql("queries/renumber_after_rejects.sql"))
    # In order of first appearance, as the file itself lists them.
    unknown = con.execute(read_sql("queries/unknown_columns.sql"),
                          {"contract_fields": list(EVENT_FIELDS)}).fetchall()
    return [name for (name,) in unknown]


class _NeedsLineCheck(Exception):
    """A direct load found something only the line-checked path handles."""


def _names_allow_direct_load(names: list[str]) -> bool:
    """Exactly the contract's fields (any order, each under its exact name): a file with other
    columns is line-checked, which lists them and checks their values."""
    return sorted(names) == sorted(EVENT_FIELDS)


@dataclass(frozen=True)
class _DirectCandidate:
    """A file that may take the direct load, and how its reader reads it."""

    path: Path
    file_name: str
    digest: FileDigest
    file_format: str
    reader_file: str  # queries/direct_read_<format>.sql
    # The reader's parameters other than $paths and $file_sha256s; files whose parameters are
    # equal share one reader.
    read_params: tuple[tuple[str, object], ...]
    expected_rows: int
    size: int


def _direct_candidate(con: duckdb.DuckDBPyConnection, path: Path, file_name: str,
                      digest: FileDigest, batch: list[_DirectCandidate]) -> _DirectCandidate | None:
    """The file as a direct-load candidate; None when it must be handled on its own: unknown or
    unreadable, loaded (or refused) before, the same content as a file of `batch`, empty, or a
    layout only the line-checked path handles."""
    file_format = format_of(path)
    if file_format is None or not digest.intact or content_refusal(digest.head, file_format):
        return None
    if any(member.digest.sha256 == digest.sha256 for member in batch):
        return None
    seen = con.execute("select 1 from raw.ingest_files where file_sha256 = ?",
                       [digest.sha256]).fetchone()
    if seen:
        return None
    if file_format == "jsonl":
        # Keys are checked line by line in the reader; any key outside the contract sends the
        # file to the line-checked path, which lists unknown columns.
        read_params: dict[str, object] = {"contract_fields": list(EVENT_FIELDS)}
        rows = digest.lines
    elif file_format == "csv":
        try:
            names = _csv_header(path)
        except (_UnreadableHeader, UnicodeDecodeError, csv.Error):
            return None
        read_params = {"columns": {name: "VARCHAR" for name in names}}
        rows = digest.lines - HEADER_LINES["csv"]
    else:
        try:
            names = [row[0] for row in con.execute(
                "describe select * from read_parquet(?)", [reader_path(path)]).fetchall()]
            # from the file's footer, without reading its rows
            rows = con.execute("select count(*) from read_parquet(?)",
                               [reader_path(path)]).fetchone()[0]
        except duckdb.Error:
            return None
        read_params = {}
    if file_format != "jsonl" and not _names_allow_direct_load(names):
        return None
    if rows < 1:
        return None
    return _DirectCandidate(
        path, file_name, digest, file_format, f"queries/direct_read_{file_format}.sql",
        tuple((key, _frozen(value)) for key, value in read_params.items()), rows,
        path.stat().st_size)


def _frozen(value: object) -> object:
    """A reader parameter in a form that can be compared and hashed (dicts keep their order)."""
    if isinstance(value, dict):
        return tuple(value.items())
    if isinstance(value, list):
        return tuple(value)
    return value


def _thawed(read_params: tuple[tuple[str, object], ...]) -> dict[str, object]:
    thawed: dict[str, object] = {}
    for key, value in read_params:
        if key == "columns":
            thawed[key] = dict(value)  # type: ignore[arg-type]
        elif isinstance(value, tuple):
            thawed[key] = list(value)
        else:
            thawed[key] = value
    return thawed


def _load_direct_batch(con: duckdb.DuckDBPyConnection, batch: list[_DirectCandidate],
                       earliest_occurred_at: datetime) -> list[FileResult] | None:
    """Load clean files straight into raw.events, in one transaction with their raw.ingest_files
    records; None (and nothing written) when any row or file needs the line-checked path.

    Files of one format and layout share one reader, and the readers of one format run in one
    statement, so DuckDB reads those files side by side; the rules that depend on file order
    (duplicates, suppression) are applied after every format's rows are in, as if the files had
    loaded one by one in the batch's order (queries/direct_skipped_events.sql).
    """
    started = time.perf_counter()
    readers: dict[tuple[str, tuple[tuple[str, object], ...]], list[_DirectCandidate]] = {}
    for candidate in batch:
        readers.setdefault((candidate.reader_file, candidate.read_params), []).append(candidate)
    file_sha256s = [candidate.digest.sha256 for candidate in batch]
    con.execute("begin transaction")
    try:
        # One statement per format, whose readers run side by side (a UNION ALL of one reader per
        # layout), so DuckDB reads every file of that format at once.
        for file_format in ("csv", "jsonl", "parquet"):
            format_readers = [(reader_file, read_params, members)
                              for (reader_file, read_params), members in readers.items()
                              if members[0].file_format == file_format]
            if format_readers:
                _insert_direct(con, file_format, format_readers, earliest_occurred_at)
        rows_read = dict(con.execute(read_sql("queries/direct_batch_files.sql"),
                                     {"file_sha256s": file_sha256s}).fetchall())
        # A reader that skipped a line (a blank one, say) would hide it from the quarantine.
        for candidate in batch:
            if rows_read.get(candidate.digest.sha256, 0) != candidate.expected_rows:
                raise _NeedsLineCheck(f"{candidate.file_name}: rows and lines differ")
        con.execute("create or replace temp table ingest_direct_skipped as "
                    + read_sql("queries/direct_skipped_events.sql"),
                    {"file_sha256s": file_sha256s})
        skipped = {sha: (duplicates, suppressed, repeated) for sha, duplicates, suppressed, repeated
                   in con.execute(
                       "select file_sha256, count(*) filter (where not is_suppressed), "
                       "count(*) filter (where is_suppressed), "
                       "count(*) filter (where is_repeated_in_file) "
                       "from ingest_direct_skipped group by file_sha256").fetchall()}
        # Which of two copies in one file stays is decided by line order, which only the
        # line-checked path knows.
        if any(repeated for _, _, repeated in skipped.values()):
            raise _NeedsLineCheck("event ids repeated within a file")
        if skipped:
            con.execute(read_sql("queries/delete_direct_skipped.sql"))
        con.execute("drop table temp.main.ingest_direct_skipped")
        seconds = time.perf_counter() - started
        total_rows = sum(rows_read.values())
        ingested_at = datetime.now(UTC)
        results = []
        for candidate in batch:
            file_rows = rows_read[candidate.digest.sha256]
            duplicates, suppressed, _ = skipped.get(candidate.digest.sha256, (0, 0, 0))
            result = FileResult(
                candidate.file_name, candidate.digest.sha256, "loaded", candidate.file_format,
                rows_read=file_rows, rows_loaded=file_rows - duplicates - suppressed,
                duplicates_skipped=duplicates, suppressed_dropped=suppressed,
                # the batch's time, shared by rows
                seconds=seconds * file_rows / total_rows, load_path="direct",
            )
            _record_file(con, result, ingested_at)
            results.append(result)
        con.execute("commit")
    except (duckdb.Error, _NeedsLineCheck):
        # The reader's message may quote the file's content: it is not kept.
        con.execute("rollback")
        return None
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        # set by _insert_direct; settings outlive the transaction
        con.execute("reset preserve_insertion_order")
    return results


def _insert_direct(con: duckdb.DuckDBPyConnection, file_format: str,
                   readers: list[tuple[str, tuple[tuple[str, object], ...],
                                       list[_DirectCandidate]]],
                   earliest_occurred_at: datetime) -> None:
    """One INSERT into raw.events of every file of one format of a batch, checked row by row
    (queries/direct_events.sql)."""
    reader_params: dict[str, object] = {}
    for position, (_, read_params, members) in enumerate(readers, start=1):
        reader_params |= suffixed_parameters(
            _thawed(read_params)
            | {"paths": [reader_path(member.path) for member in members],
               "file_paths": [str(member.path) for member in members],
               "file_sha256s": [member.digest.sha256 for member in members]},
            position)
    # raw.events has no order (rows are not numbered). Measured on DuckDB 1.5 with 1.3M rows:
    # letting go of file order writes Parquet rows as they come (load 2.2 s -> 1.2 s, no merge
    # at the checkpoint), but leaves CSV rows to be written at the checkpoint (+1 s); JSON lines
    # are the same either way. So only Parquet lets it go.
    con.execute("set preserve_insertion_order = ?", [file_format != "parquet"])
    con.execute(
        compose_insert("raw.events", "direct_source",
                       union_of([read_sql(reader_file) for reader_file, _, _ in readers]),
                       read_sql("queries/direct_events.sql")),
        reader_params | _contract_rule_params(earliest_occurred_at),
    )


def _load_checked_rows(con: duckdb.DuckDBPyConnection, file_name: str, file_sha256: str,
                       file_format: str, unknown_columns: list[str], started: float) -> FileResult:
    header_lines = HEADER_LINES[file_format]
    shown_unknown = [WITHHELD_COLUMN_NAME if looks_like_pii(name) else name
                     for name in unknown_columns]
    now = datetime.now(UTC)
    con.execute("begin transaction")
    try:
        valid_rows, suppressed = con.execute(read_sql("queries/count_valid_rows.sql")).fetchone()
        rows_loaded = con.execute(read_sql("queries/insert_events.sql"),
                                  {"file_sha256": file_sha256}
                                  ).fetchone()[0]
        con.execute(read_sql("queries/insert_quarantine.sql"),
                    {"file_sha256": file_sha256, "file_name": file_name,
                     "header_lines": header_lines, "quarantined_at": now})
        by_reason = dict(con.execute(
            "select reason, count(*) from raw.quarantine_rows where file_sha256 = ? "
            "group by reason order by reason", [file_sha256]).fetchall())
        rows_quarantined = sum(by_reason.values())
        duplicates = valid_rows - suppressed - rows_loaded
        result = FileResult(
            file_name, file_sha256, "loaded", file_format,
            rows_read=valid_rows + rows_quarantined, rows_loaded=rows_loaded,
            rows_quarantined=rows_quarantined, duplicates_skipped=duplicates,
            suppressed_dropped=suppressed, unknown_columns=tuple(shown_unknown),
            quarantined_by_reason=by_reason, load_path="line_checked",
        )
        result.seconds = time.perf_counter() - started
        _record_file(con, result, now)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return result


def _drop_staging(con: duckdb.DuckDBPyConnection) -> None:
    # The reader's rejects table quotes whole input lines; it must not outlive its file.
    for table in ("ingest_checked", "ingest_rejected_lines", "ingest_line_offsets",
                  "ingest_reject_errors", "ingest_reject_scans"):
        con.execute(f"drop table if exists temp.main.{table}")
