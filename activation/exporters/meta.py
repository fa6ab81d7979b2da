"""Meta (Facebook/Instagram) Custom Audience customer file with mobile advertiser ids.

Spec: Meta Business Help Center, "Customer list formatting guidelines" (identifier `MADID`,
header `madid`; Android advertising id or Apple IDFA, sent unhashed and lower-cased),
https://www.facebook.com/business/help/2082575038703844 , and "About customer list custom
audiences" (Meta advises at least 100 people in a list),
https://www.facebook.com/business/help/341425252616329 .
"""

from __future__ import annotations

from activation.exporters.maid_list import MaidListExporter


class MetaExporter(MaidListExporter):
    name = "meta"
    label = "Meta (Facebook and Instagram)"
    spec = 'Meta Business Help Center, "Customer list formatting guidelines"'
    spec_url = "https://www.facebook.com/business/help/2082575038703844"
    own_minimum = 100
    id_form = "lower"
    header = "madid"
    file_name = "meta.csv"
