"""One exporter per destination, on the shared base in `activation.exporters.base`."""

from __future__ import annotations

from activation.exporters.base import Exporter
from activation.exporters.generic import GenericExporter
from activation.exporters.google_ads import GoogleAdsExporter
from activation.exporters.meta import MetaExporter
from activation.exporters.snapchat import SnapchatExporter
from activation.exporters.the_trade_desk import TheTradeDeskExporter
from activation.exporters.tiktok import TikTokExporter

EXPORTERS: dict[str, type[Exporter]] = {
    exporter.name: exporter
    for exporter in (GenericExporter, MetaExporter, GoogleAdsExporter, TikTokExporter,
                     SnapchatExporter, TheTradeDeskExporter)
}
