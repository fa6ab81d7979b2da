"""The synthetic world of tests/worlds.py plants intent that follows engagement."""

from __future__ import annotations

import polars as pl
from worlds import events_frame

from core.contract import INTENT_EVENT_TYPES


def test_world_plants_intent_that_follows_engagement(tmp_path):
    # given a small world
    events = events_frame(n_persons=500, n_days=30)
    # when counting events per person
    per_person = events.group_by("person_id").agg(
        pl.col("event_type").is_in(INTENT_EVENT_TYPES).sum().alias("intent"),
        pl.len().alias("events"),
    )
    # then people with intent engaged more than the rest, and every id is a valid pseudonym
    with_intent = per_person.filter(pl.col("intent") > 0)["events"].mean()
    without = per_person.filter(pl.col("intent") == 0)["events"].mean()
    assert with_intent > 1.5 * without, (with_intent, without)
    assert events["person_id"].str.len_chars().min() >= 8
