"""Segment definitions, selection rules and the reproducible holdout."""

from __future__ import annotations

from datetime import date
from itertools import pairwise

import polars as pl
import pytest

from activation.definitions import (
    DEFAULT_SEGMENTS_FILE,
    SegmentConfigError,
    SegmentDefinition,
    load_segments,
    parse_segments,
)
from activation.selection import gains_by_decile, holdout_mask, interest_profile, select_segment


def _population() -> pl.DataFrame:
    """Ten persons, scores 0.95 down to 0.05; half in Stockholm; the odd ones love mountains."""
    n = 10
    return pl.DataFrame({
        "person_id": [f"person_{i:03d}" for i in range(n)],
        "id_type": ["maid", "cookie"] * 5,
        "score": [0.95 - 0.1 * i for i in range(n)],
        "rank": list(range(1, n + 1)),
        "decile": list(range(1, n + 1)),
        "home_region": ["SE-AB"] * 5 + ["SE-O"] * 5,
        "theme_share_90d__mountains": [0.1, 0.6] * 5,
        "theme_share_90d__forest": [0.0, 0.1] * 5,
    })


def _segment(**fields) -> SegmentDefinition:
    return SegmentDefinition.model_validate({"name": "s", "description": "d", **fields})


def test_the_shipped_default_segments_file_is_valid():
    config = load_segments(DEFAULT_SEGMENTS_FILE)
    names = [segment.name for segment in config.segments]
    assert "top-decile" in names and "nature-curious-stockholm" in names
    assert config.min_audience_size == 1000 and config.holdout_fraction == 0.10
    assert config.destinations_of(config.segments[0])[0] == "generic"


@pytest.mark.parametrize(("data", "message"), [
    ({"segments": [{"name": "Top Decile", "description": "d", "select": {"top_deciles": 1}}]},
     "segments.0.name"),
    ({"segments": [{"name": "a", "description": "d",
                    "where": {"theme_affinity": {"themes": ["beaches"], "min_share": 0.2}}}]},
     "themes.0"),
    ({"segments": [{"name": "a", "description": "d"}]}, "at least one"),
    ({"segments": [{"name": "a", "description": "d", "select": {"top_k": 5}},
                   {"name": "a", "description": "d", "select": {"top_k": 9}}]}, "repeated"),
    ({"destination_settings": {"the_trade_desk": {"advertiser_id": "x1", "ttl_minutes": 259201}},
      "segments": [{"name": "a", "description": "d", "select": {"top_k": 5}}]}, "ttl_minutes"),
    ({"segments": [{"name": "a", "description": "d", "select": {"top_k": 5},
                    "destinations": ["myspace"]}]}, "destinations.0"),
    ({"segments": [{"name": "a", "description": "d", "select": {"top_k": 5}, "colour": "red"}]},
     "colour"),
    ({"segments": [{"name": "a", "description": "d", "where": {"regions": ["Stockholm"]}}]},
     "regions.0"),
])
def test_invalid_segment_files_are_rejected_naming_the_field(data, message):
    with pytest.raises(SegmentConfigError, match=message):
        parse_segments(data)


@pytest.mark.parametrize(("text", "where", "problem"), [
    ("segments: [ {name: a,\n", "line 2, column 1", "expected the node content"),
    ("segments:\n  - name: a\x07b\n", "line 2, column 12", "special characters are not allowed"),
])
def test_a_broken_yaml_file_gives_a_clear_error(tmp_path, text, where, problem):
    broken = tmp_path / "segments.yaml"
    broken.write_text(text, encoding="utf-8")
    with pytest.raises(SegmentConfigError, match=problem) as raised:
        load_segments(broken)
    assert str(raised.value).startswith(f"segments file {broken}, {where}: "), raised.value
    with pytest.raises(SegmentConfigError, match="cannot read"):
        load_segments(tmp_path / "missing.yaml")


def test_a_yaml_syntax_error_is_one_line_naming_the_file_line_and_column(tmp_path):
    # given a segments file whose fourth line puts a second colon where a value belongs
    broken = tmp_path / "segs.yaml"
    broken.write_text("min_audience_size: 20\nsegments:\n  - name: top\n    top: k: 5\n",
                      encoding="utf-8")
    # when it is loaded, then the error names the file, the line and the column, in one line
    with pytest.raises(SegmentConfigError) as raised:
        load_segments(broken)
    assert str(raised.value) == (f"segments file {broken}, line 4, column 11: "
                                 "mapping values are not allowed here")
    assert "<unicode string>" not in str(raised.value)


def test_an_invalid_segments_file_names_the_file(tmp_path):
    invalid = tmp_path / "segs.yaml"
    invalid.write_text("segments: []\n", encoding="utf-8")
    with pytest.raises(SegmentConfigError) as raised:
        load_segments(invalid)
    assert str(raised.value).startswith(f"segments file {invalid} is invalid: "), raised.value


@pytest.mark.parametrize(("fields", "expected"), [
    ({"select": {"top_deciles": 3}}, ["person_000", "person_001", "person_002"]),
    ({"select": {"top_k": 2}}, ["person_000", "person_001"]),
    ({"select": {"min_score": 0.7}}, ["person_000", "person_001", "person_002"]),
    ({"where": {"id_types": ["cookie"]}, "select": {"top_k": 2}}, ["person_001", "person_003"]),
    # nature-curious in Stockholm, top 50 % of them: odd persons 1 and 3 of 0..4
    ({"where": {"regions": ["SE-AB"], "theme_affinity": {"themes": ["mountains", "forest"],
                                                         "min_share": 0.5}},
      "select": {"top_fraction": 0.5}}, ["person_001"]),
    ({"where": {"regions": ["SE-AB"], "theme_affinity": {"themes": ["mountains", "forest"],
                                                         "min_share": 0.5}},
      "select": {"top_fraction": 1.0}}, ["person_001", "person_003"]),
    ({"select": {"top_k": 5, "min_score": 0.8}}, ["person_000", "person_001"]),
])
def test_selection_rules_pick_the_expected_persons(fields, expected):
    selected = select_segment(_population(), _segment(**fields))
    assert selected["person_id"].to_list() == expected


def test_holdout_is_reproducible_per_segment_and_date_and_near_the_fraction():
    # given 5,000 persons
    audience = pl.DataFrame({"person_id": [f"person_{i:06d}" for i in range(5000)]})
    day = date(2026, 11, 1)
    # when drawing the holdout twice, for another segment, and for another date
    first = holdout_mask(audience, "top-decile", day, 0.10)
    again = holdout_mask(audience, "top-decile", day, 0.10)
    other_segment = holdout_mask(audience, "families-goteborg", day, 0.10)
    other_day = holdout_mask(audience, "top-decile", date(2026, 11, 2), 0.10)
    # then the same inputs hold out the same persons, other inputs others, about 10 % each
    assert first.to_list() == again.to_list()
    assert first.to_list() != other_segment.to_list()
    assert first.to_list() != other_day.to_list()
    assert 400 <= first.sum() <= 600, f"{first.sum()} of 5000 held out for a 10 % holdout"
    # and it does not depend on the order or company of the other persons
    reversed_audience = audience.reverse()
    reversed_mask = holdout_mask(reversed_audience, "top-decile", day, 0.10)
    assert reversed_mask.reverse().to_list() == first.to_list()
    assert holdout_mask(audience.head(10), "top-decile", day, 0.10).to_list() == \
        first.head(10).to_list()
    assert holdout_mask(audience, "top-decile", day, 0.0).sum() == 0


def test_gains_and_interest_profile_are_aggregates_of_the_segment():
    population = _population()
    gains = gains_by_decile(population)
    assert [g["decile"] for g in gains] == list(range(1, 11))
    assert gains[-1]["cumulative_gain"] == pytest.approx(1.0)
    assert all(a["cumulative_gain"] <= b["cumulative_gain"] for a, b in pairwise(gains))
    profile = interest_profile(population)
    assert profile["themes"][0] == {"theme": "mountains", "share": 0.35}
    # regions with fewer than 10 persons are folded into "other"
    assert profile["regions"] == [{"region": "other", "share": 1.0}]
    assert set(profile) == {"themes", "regions"}
