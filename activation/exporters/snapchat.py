"""Snapchat Ads Manager customer list of hashed mobile advertiser ids.

Spec: Snap Business Help Center, "Create a Customer List audience" (customer lists of e-mail,
phone or mobile advertiser id; lists need at least 1,000 matched Snapchatters to be targetable),
https://businesshelp.snapchat.com/s/article/create-sam-audience?language=en_US , with Snap's
normalisation for mobile advertiser ids (IDFA/AAID lower-cased, then SHA-256, lower-case hex)
as restated in https://docs.getcensus.com/destinations/available-destinations/snapchat .
The column header is `MOBILE_AD_ID_SHA256`.
"""

from __future__ import annotations

from activation.exporters.maid_list import MaidListExporter


class SnapchatExporter(MaidListExporter):
    name = "snapchat"
    label = "Snapchat"
    spec = 'Snap Business Help Center, "Create a Customer List audience"'
    spec_url = "https://businesshelp.snapchat.com/s/article/create-sam-audience?language=en_US"
    own_minimum = 1000
    id_form = "sha256_lower"
    header = "MOBILE_AD_ID_SHA256"
    file_name = "snapchat.csv"
