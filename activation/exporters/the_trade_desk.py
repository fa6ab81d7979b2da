"""The Trade Desk first-party data upload, as JSON files of at most 2.5 MB each.

Spec: The Trade Desk Data API, "POST /data/advertiser" (first-party advertiser data:
`{"AdvertiserId": ..., "Items": [{"DAID": <device advertising id>, "Data": [{"Name":
<segment>, "TtlInMinutes": <ttl>}]}]}`; a request body may not exceed 2.5 MB; TTL at most
180 days), https://partner.thetradedesk.com/v3/portal/data/doc/post-data-advertiser-firstparty ;
TTL limit restated in https://rudderstack.com/docs/destinations/audience-list-destinations/trade-desk-audience/setup-guide/ .
A segment too big for one body is split into parts `the_trade_desk-0001.json`, ... .

No add or remove file: a person stays in a first-party segment only for `TtlInMinutes` after
the upload that named them, so the full file is uploaded on every run (it refreshes everyone in
it) and a person who left is simply not refreshed and expires (`removal` "ttl").
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl

from activation.destination_settings import MAX_TTD_TTL_MINUTES
from activation.exporters.base import (
    MAID_PATTERN,
    ExportContext,
    Exporter,
    ExportValidationError,
    WrittenFile,
    describe_file,
    require_all,
    require_unique,
)

MAX_BODY_BYTES = 2_500_000


class TheTradeDeskExporter(Exporter):
    name = "the_trade_desk"
    label = "The Trade Desk"
    spec = 'The Trade Desk Data API, "POST /data/advertiser" (first-party data)'
    spec_url = ("https://partner.thetradedesk.com/v3/portal/data/doc/"
                "post-data-advertiser-firstparty")
    own_minimum = 1
    required_settings = ("the_trade_desk.advertiser_id", "the_trade_desk.ttl_minutes")
    max_body_bytes = MAX_BODY_BYTES
    removal = "ttl"

    def written_ids(self, rows: pl.DataFrame) -> pl.Series:
        return rows["person_id"].str.to_lowercase()

    def write(self, rows: pl.DataFrame, folder: Path, context: ExportContext,
              kind: str = "full") -> list[WrittenFile]:
        if kind != "full":
            raise ValueError(f"{self.name}: data expires by TTL; there is no {kind} file")
        settings = context.settings.the_trade_desk
        if settings is None:
            raise ExportValidationError(f"{self.name}: no advertiser id configured")
        if not 1 <= settings.ttl_minutes <= MAX_TTD_TTL_MINUTES:
            raise ExportValidationError(f"{self.name}: TTL must be 1..{MAX_TTD_TTL_MINUTES} minutes")
        ids = rows["person_id"].str.to_lowercase()
        require_all(ids.to_frame("id"), pl.col("id").str.contains(MAID_PATTERN),
                    "UUID device advertising ids", self.name)
        require_unique(ids, self.name)
        items = self._items(ids, context.segment_name, settings.ttl_minutes)
        head = ('{"AdvertiserId":' + json.dumps(settings.advertiser_id) + ',"Items":[').encode()
        tail = b"]}"
        parts = split_by_size(items.str.len_bytes().to_numpy(),
                              self.max_body_bytes - len(head) - len(tail))
        names = ([f"{self.name}.json"] if len(parts) == 1
                 else [f"{self.name}-{index:04d}.json" for index in range(1, len(parts) + 1)])
        written = []
        for name, (start, stop) in zip(names, parts, strict=True):
            path = folder / name
            body = head + ",".join(items.slice(start, stop - start).to_list()).encode() + tail
            path.write_bytes(body)
            written.append(describe_file(self.name, path, stop - start))
        return written

    def read_ids(self, path: Path, kind: str = "full") -> pl.Series:
        return pl.Series([item["DAID"] for item in json.loads(path.read_bytes())["Items"]],
                         dtype=pl.String)

    def write_kept_rows(self, path: Path, keep: pl.Series, target: Path) -> int:
        # Compact separators and the default ASCII escaping give the bytes write() gives.
        body = json.loads(path.read_bytes())
        body["Items"] = [item for item, kept in zip(body["Items"], keep, strict=True) if kept]
        target.write_bytes(json.dumps(body, separators=(",", ":")).encode())
        return len(body["Items"])

    @staticmethod
    def _items(ids: pl.Series, segment_name: str, ttl_minutes: int) -> pl.Series:
        # Ids are validated UUIDs and the segment name JSON-encoded, so plain concatenation
        # yields valid JSON without encoding each item.
        data = ',"Data":[{"Name":' + json.dumps(segment_name) + f',"TtlInMinutes":{ttl_minutes}}}]}}'
        return ids.to_frame("id").select(
            pl.concat_str([pl.lit('{"DAID":"'), pl.col("id"), pl.lit('"' + data)])
        ).to_series()


def split_by_size(item_bytes: np.ndarray, budget: int) -> list[tuple[int, int]]:
    """[start, stop) ranges of items whose comma-joined size fits `budget` bytes each."""
    if len(item_bytes) == 0:
        return []
    if int(item_bytes.max()) > budget:
        raise ExportValidationError("one item is larger than a whole upload body")
    # offsets[i] = bytes of items[:i] each followed by a comma; a part drops its last comma.
    offsets = np.concatenate([[0], np.cumsum(item_bytes.astype(np.int64) + 1)])
    parts, start = [], 0
    while start < len(item_bytes):
        stop = int(np.searchsorted(offsets, offsets[start] + budget + 1, side="right")) - 1
        parts.append((start, stop))
        start = stop
    return parts
