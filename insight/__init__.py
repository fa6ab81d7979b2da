"""Insight: what the warehouse says about the campaigns themselves. The creative report
(`norrut creatives`, insight/creatives.py) says which films, images, themes and campaigns are
followed by intent more often than comparable persons show without them."""
