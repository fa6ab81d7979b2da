"""TikTok Ads Manager customer file of mobile advertiser ids.

Spec: TikTok Business Help Center, "List of supported IDs and formats for a customer file"
(MAIDs: Apple IDFA or Google GAID, original value, header `MAID`, one entry per line, all
characters upper- or all lower-case, consistently),
https://ads.tiktok.com/help/article/list-of-supported-ids-and-formats-for-a-customer-file ;
a custom audience of fewer than 1,000 matched users cannot be used for delivery, so smaller
files are not written. Ids are written lower-case.
"""

from __future__ import annotations

from activation.exporters.maid_list import MaidListExporter


class TikTokExporter(MaidListExporter):
    name = "tiktok"
    label = "TikTok"
    spec = 'TikTok Business Help Center, "List of supported IDs and formats for a customer file"'
    spec_url = ("https://ads.tiktok.com/help/article/"
                "list-of-supported-ids-and-formats-for-a-customer-file")
    own_minimum = 1000
    id_form = "lower"
    header = "MAID"
    file_name = "tiktok.csv"
