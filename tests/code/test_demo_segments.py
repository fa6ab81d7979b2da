"""`make demo`'s segments are the shipped ones with minimum sizes that fit a simulated world."""

from __future__ import annotations

from pathlib import Path

from activation.definitions import DEFAULT_SEGMENTS_FILE, load_segments

DEMO_SEGMENTS_FILE = DEFAULT_SEGMENTS_FILE.with_name("demo_segments.yaml")
MAKEFILE = Path(__file__).resolve().parents[2] / "Makefile"


def test_the_demo_segments_are_the_shipped_ones_with_a_smaller_minimum():
    # given the shipped segments and the demo's
    shipped, demo = load_segments(DEFAULT_SEGMENTS_FILE), load_segments(DEMO_SEGMENTS_FILE)
    # then the demo selects the same persons for the same segments, only smaller ones pass
    assert [s.model_dump(exclude={"description"}) for s in demo.segments] == [
        s.model_dump(exclude={"description"}) for s in shipped.segments]
    assert demo.min_audience_size == 100 < shipped.min_audience_size
    assert demo.holdout_fraction == shipped.holdout_fraction
    assert demo.destinations == shipped.destinations


def test_make_demo_exports_the_demo_segments_and_says_so():
    demo_recipe = MAKEFILE.read_text().split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert "--segments-file activation/demo_segments.yaml" in demo_recipe
    assert "demo_segments.yaml" in demo_recipe.split("echo", 1)[1]
