"""Turning simulated events into inbox files: JSON lines, CSV and Parquet, optionally gzipped.

Lines are built with Polars string expressions and written in chunks, never row by row. Honest
values come from fixed vocabularies that contain no comma, quote, backslash or line break, so
they need no quoting in CSV nor escaping in JSON (checked once per vocabulary).
"""

from __future__ import annotations

import gzip
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import numpy as np
import polars as pl

from core.contract import DEVICES, EVENT_TYPES, ID_TYPES
from simulator.behaviour import campaign_names
from simulator.ids import event_id_series
from simulator.population import CHANNELS, MUNICIPALITIES, REGIONS

TIMESTAMP_STYLES = ("stockholm_offset", "utc_z", "epoch_ms")
TIMESTAMP_STYLE_WEIGHTS = np.array([0.5, 0.3, 0.2])
_UNSAFE_TEXT = re.compile(r'[,"\\\r\n]')

# Extra columns some producers add; the contract says they are ignored and counted.
UNKNOWN_COLUMN_VALUES = {
    "utm_source": ("newsletter", "partner_site", "paid_social"),
    "ab_variant": ("A", "B"),
}


def _checked_vocabulary(values: list[str] | np.ndarray | pl.Series) -> pl.Series:
    series = pl.Series(values, dtype=pl.String)
    unsafe = series.filter(series.str.contains(_UNSAFE_TEXT.pattern))
    if len(unsafe):
        raise ValueError(f"vocabulary values need quoting: {unsafe.head(3).to_list()}")
    return series


@dataclass(frozen=True)
class Vocabulary:
    """The strings behind the integer codes of simulated events."""

    event_id_salt: int
    person_id: pl.Series
    person_id_type: pl.Series
    person_region: pl.Series
    content_id: pl.Series
    campaign_id: pl.Series

    @classmethod
    def build(cls, event_id_salt: int, person_ids: np.ndarray, person_id_type: np.ndarray,
              person_region: np.ndarray, content_ids: list[str], year: int) -> Vocabulary:
        return cls(
            event_id_salt=event_id_salt,
            person_id=_checked_vocabulary(person_ids),
            person_id_type=pl.Series(np.array(ID_TYPES)[person_id_type], dtype=pl.String),
            person_region=pl.Series(np.array(REGIONS)[person_region], dtype=pl.String),
            content_id=_checked_vocabulary(content_ids),
            campaign_id=_checked_vocabulary(campaign_names(year)),
        )


def _null_where_not(values: pl.Series, keep: np.ndarray) -> pl.Series:
    frame = pl.DataFrame({"value": values, "keep": keep})
    return frame.select(pl.when(pl.col("keep")).then(pl.col("value"))).to_series()


def _gather(vocabulary: pl.Series | list[str] | tuple[str, ...], codes: np.ndarray) -> pl.Series:
    """vocabulary[code], null where code < 0."""
    if not isinstance(vocabulary, pl.Series):
        vocabulary = _checked_vocabulary(list(vocabulary))
    known = codes >= 0
    return _null_where_not(vocabulary.gather(pl.Series(np.where(known, codes, 0).astype(np.int64))),
                           known)


def typed_rows(events: dict[str, np.ndarray], rows: np.ndarray, vocabulary: Vocabulary,
               timestamp_style: np.ndarray) -> pl.DataFrame:
    """The events at `rows` as typed columns (strings, float, bool), plus formatting hints."""
    person = events["person"][rows]
    watch = events["watch"][rows]
    region_names = vocabulary.person_region.gather(pl.Series(person.astype(np.int64)))
    return pl.DataFrame({
        "event_id": event_id_series(rows, vocabulary.event_id_salt),
        "occurred_ms": events["second"][rows] * 1000,
        "person_id": vocabulary.person_id.gather(pl.Series(person.astype(np.int64))),
        "id_type": vocabulary.person_id_type.gather(pl.Series(person.astype(np.int64))),
        "event_type": _gather(EVENT_TYPES, events["event_type"][rows]),
        "content_id": _gather(vocabulary.content_id, events["content"][rows]),
        "campaign_id": _gather(vocabulary.campaign_id, events["campaign"][rows]),
        "channel": _gather(CHANNELS, events["channel"][rows]),
        "watch_seconds": pl.Series(np.round(watch.astype(np.float64), 1), nan_to_null=True),
        "region": _null_where_not(region_names, events["region_known"][rows]),
        "device": _gather(DEVICES, events["device"][rows]),
        "consent": events["consent"][rows],
        "municipality": _gather(MUNICIPALITIES, events["municipality"][rows]),
        "timestamp_style": timestamp_style.astype(np.int8),
    })


def _iso_occurred_at() -> pl.Expr:
    instant = pl.from_epoch(pl.col("occurred_ms"), time_unit="ms").dt.replace_time_zone("UTC")
    return (
        pl.when(pl.col("timestamp_style") == TIMESTAMP_STYLES.index("stockholm_offset"))
        .then(instant.dt.convert_time_zone("Europe/Stockholm")
              .dt.strftime("%Y-%m-%dT%H:%M:%S%:z"))
        .otherwise(instant.dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    )


def occurred_at_text() -> pl.Expr:
    """occurred_at as text in the row's style (epoch milliseconds as a digit string)."""
    return (
        pl.when(pl.col("timestamp_style") == TIMESTAMP_STYLES.index("epoch_ms"))
        .then(pl.col("occurred_ms").cast(pl.String))
        .otherwise(_iso_occurred_at())
    )


def _json_fragment(name: str, value: pl.Expr) -> pl.Expr:
    return pl.when(value.is_not_null()).then(pl.lit(f'"{name}":') + value)


def json_lines(frame: pl.DataFrame, unknown_columns: tuple[str, ...]) -> pl.Series:
    """One JSON object per row; null fields are left out; epoch ms as JSON integers."""
    quoted = {name: pl.lit('"') + pl.col(name) + pl.lit('"') for name in (
        "event_id", "person_id", "id_type", "event_type", "content_id", "campaign_id",
        "channel", "region", "device", "municipality", *unknown_columns)}
    occurred = (
        pl.when(pl.col("timestamp_style") == TIMESTAMP_STYLES.index("epoch_ms"))
        .then(pl.col("occurred_ms").cast(pl.String))
        .otherwise(pl.lit('"') + _iso_occurred_at() + pl.lit('"'))
    )
    fragments = [
        _json_fragment("event_id", quoted["event_id"]),
        _json_fragment("occurred_at", occurred),
        *[_json_fragment(name, quoted[name]) for name in (
            "person_id", "id_type", "event_type", "content_id", "campaign_id", "channel")],
        _json_fragment("watch_seconds", pl.col("watch_seconds").cast(pl.String)),
        _json_fragment("region", quoted["region"]),
        _json_fragment("device", quoted["device"]),
        _json_fragment("consent", pl.when(pl.col("consent")).then(pl.lit("true"))
                       .otherwise(pl.lit("false"))),
        _json_fragment("municipality", quoted["municipality"]),
        *[_json_fragment(name, quoted[name]) for name in unknown_columns],
    ]
    body = pl.concat_str(fragments, separator=",", ignore_nulls=True)
    return frame.select(line=pl.lit("{") + body + pl.lit("}")).to_series()


def csv_text_columns(frame: pl.DataFrame, ones_and_zeros: bool) -> pl.DataFrame:
    """Every field as the text a CSV producer would write (empty string for null)."""
    true_text, false_text = ("1", "0") if ones_and_zeros else ("true", "false")
    return frame.with_columns(
        occurred_at=occurred_at_text(),
        watch_seconds=pl.col("watch_seconds").cast(pl.String),
        consent=pl.when(pl.col("consent")).then(pl.lit(true_text)).otherwise(pl.lit(false_text)),
    )


def csv_lines(text_columns: pl.DataFrame, column_order: list[str],
              quote_values: bool = False) -> pl.Series:
    """Header-less CSV lines in `column_order`. Values are known not to need quoting; some
    producers quote every non-empty value anyway, which `quote_values` imitates."""
    def field(name: str) -> pl.Expr:
        value = pl.lit('"') + pl.col(name) + pl.lit('"') if quote_values else pl.col(name)
        return value.fill_null("")

    return text_columns.select(
        line=pl.concat_str([field(name) for name in column_order], separator=",")
    ).to_series()


def parquet_frame(frame: pl.DataFrame, epoch_ms: bool,
                  unknown_columns: tuple[str, ...]) -> pl.DataFrame:
    """Typed Parquet columns; occurred_at as int64 epoch ms or as ISO text."""
    occurred = pl.col("occurred_ms") if epoch_ms else _iso_occurred_at()
    return frame.select(
        "event_id", occurred.alias("occurred_at"), "person_id", "id_type", "event_type",
        "content_id", "campaign_id", "channel", "watch_seconds", "region", "device", "consent",
        "municipality", *unknown_columns,
    )


class DeterministicWriter:
    """A binary file, gzipped with zero mtime and no name when asked; a context manager."""

    def __init__(self, path: Path, compress: bool) -> None:
        self._raw = open(path, "wb")  # noqa: SIM115 - closed in __exit__
        self._out = (gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, mtime=0,
                                   compresslevel=3) if compress else self._raw)

    def write_lines(self, lines: pl.Series) -> None:
        pl.DataFrame({"line": lines}).write_csv(self._out, include_header=False,
                                                quote_style="never")

    def write_text(self, text: str) -> None:
        self._out.write(text.encode())

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._out is not self._raw:
            self._out.close()
        self._raw.close()


def gzip_bytes(data: bytes) -> bytes:
    """Gzip with a zero mtime and no file name, so the bytes depend on the content only."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=3) as out:
        out.write(data)
    return buffer.getvalue()


