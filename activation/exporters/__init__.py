"""The registry of destinations: one exporter per destination, on the shared base in
`activation.exporters.base`.

Adding a destination is adding its exporter here: the segments file's allowed destinations,
the lift command's check, the manifests and the portal's labels are all read from EXPORTERS.
Generic comes first: every segment is written to it, and lists of destinations start with it.
"""

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
