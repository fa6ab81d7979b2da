"""The inbox's files before loading: discovery, format, digest and the whole-file checks."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from isal import isal_zlib

from core.contract import EVENT_FIELDS

# Longest suffix first, so "x.csv.gz" is CSV and not an unknown ".gz".
FORMAT_BY_SUFFIX = {
    ".jsonl.gz": "jsonl", ".ndjson.gz": "jsonl", ".csv.gz": "csv",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet",
}
HEADER_LINES = {"jsonl": 0, "csv": 1, "parquet": 0}
_CHUNK_BYTES = 1 << 20
# How much of a file's (decompressed) text digest_file keeps, to tell its content's format.
_HEAD_BYTES = 1 << 16
# Whole-file reasons that refuse a content for its name only: the same content under a name
# that says another format is tried again (see batch.plan_file).
REFUSED_FOR_NAME = ("unknown_extension", "content_does_not_match_extension")


class InboxError(ValueError):
    """The inbox cannot be read at all (missing, not a folder)."""


class UnreadableHeader(ValueError):
    """A CSV whose header cannot name its columns."""


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


def has_data_lines(head: bytes) -> bool:
    """True when a non-blank line follows the first non-blank line (a CSV's header)."""
    non_blank = [line for line in head.split(b"\n") if line.strip()]
    return len(non_blank) > 1


def csv_header(path: Path) -> list[str]:
    """The column names of a CSV's header row; UnreadableHeader when they cannot name columns."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as raw:
        # Only the header line is decoded: a row further on that is not UTF-8 is the reader's
        # to quarantine, not a reason to refuse the file.
        header_line = raw.readline().decode("utf-8-sig")
    header = next(csv.reader(io.StringIO(header_line, newline="")), None)
    if not header:
        raise UnreadableHeader("no header row")
    names = [name.strip() for name in header]
    if len(set(names)) != len(names) or "" in names:
        raise UnreadableHeader("header names repeat or are empty")
    return names


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
    The line count tells whether DuckDB's JSON reader saw every line as a row (it passes over
    blank lines). ISA-L
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
