"""One exporter per destination, on the shared base in `segments.exporters.base`."""

from __future__ import annotations

from segments.exporters.base import Exporter
from segments.exporters.generic import GenericExporter
from segments.exporters.google_ads import GoogleAdsExporter
from segments.exporters.meta import MetaExporter
from segments.exporters.snapchat import SnapchatExporter
from segments.exporters.the_trade_desk import TheTradeDeskExporter
from segments.exporters.tiktok import TikTokExporter

EXPORTERS: dict[str, type[Exporter]] = {
    exporter.name: exporter
    for exporter in (GenericExporter, MetaExporter, GoogleAdsExporter, TikTokExporter,
                     SnapchatExporter, TheTradeDeskExporter)
}
