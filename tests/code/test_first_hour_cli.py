"""What a new user meets in the first hour: `norrut train` then `norrut score` with no features
build between, and a segments file with a YAML typo said in one line."""

from __future__ import annotations

from datetime import date

import pytest
from typer.testing import CliRunner

from features.build import build_features, has_features
from norrut.cli.app import build_app
from warehouse.as_of import resolve_as_of


def _norrut(*args: str):
    return CliRunner().invoke(build_app(), list(args))


def _write_world(home) -> None:
    from worlds import write_world

    write_world(home.warehouse_path, n_persons=2000, n_days=70)


def _scoring_summaries(home) -> list[str]:
    """The scoring summary of each score run on this test's home, oldest first (run without a
    Prefect server, each is a file of <home>/reports/score/, named after its UTC time)."""
    return [path.read_text(encoding="utf-8")
            for path in sorted((home.root / "reports" / "score").glob("2*.md"))]


def test_has_features_is_true_only_for_a_date_whose_features_were_built(home):
    # given no warehouse yet, then no date has features
    assert has_features(home.warehouse_path, date(2026, 3, 12)) is False
    # given a warehouse holding events, whose features were built for one date
    _write_world(home)
    assert has_features(home.warehouse_path, date(2026, 3, 12)) is False
    build_features(home.warehouse_path, date(2026, 3, 12))
    # then that date has features, and another date still has none
    assert has_features(home.warehouse_path, date(2026, 3, 12)) is True
    assert has_features(home.warehouse_path, date(2026, 3, 5)) is False


def test_a_yaml_typo_in_the_segments_file_is_one_line_naming_file_line_and_column(
        home, tmp_path):
    # given a segments file whose fourth line has a second colon where a value belongs
    segments = tmp_path / "bad.yaml"
    segments.write_text("min_audience_size: 20\nsegments:\n  - name: top\n    top: k: 5\n",
                        encoding="utf-8")
    # when exporting with it
    result = _norrut("export", "--segments-file", str(segments))
    # then one line names the file, the line and the column, and PyYAML's "<unicode string>"
    # is gone
    output = result.output.strip()
    assert result.exit_code == 2, result.output
    expected = (f"error: segments file {segments}, line 4, column 11: "
                "mapping values are not allowed here")
    assert output.splitlines() == [expected], output


@pytest.mark.slow
def test_train_then_score_on_a_fresh_home_builds_the_features_it_needs(home):
    # given a fresh home whose warehouse holds events, and no features built for any date
    _write_world(home)
    as_of = resolve_as_of(home.warehouse_path, None)
    # when a new user trains, then scores, with the default date and no features build between
    trained = _norrut("train", "--min-positives", "30", "--n-training-snapshots", "3",
                      "--horizon-days", "10")
    scored = _norrut("score")
    # then training registered a champion, and scoring said it builds the date's features first
    assert trained.exit_code == 0, trained.output
    assert scored.exit_code == 0, scored.output
    lines = scored.output.splitlines()
    assert lines[0] == f"no features built for {as_of.isoformat()} yet: building them first"
    assert "persons scored" in scored.output and "error" not in scored.output
    assert has_features(home.warehouse_path, as_of)
    # and a second score of that date uses those features, saying nothing of a build
    rescored = _norrut("score")
    assert rescored.exit_code == 0, rescored.output
    assert "no features built" not in rescored.output
    # and only the first run's summary says it built the features first
    first, second = _scoring_summaries(home)
    assert f"No features had been built for {as_of.isoformat()}" in first, first
    assert "No features had been built" not in second, second
