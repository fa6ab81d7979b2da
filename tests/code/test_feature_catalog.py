"""The feature catalog is the single source of features.person_features: its DDL, casts and
repetitive columns are generated, so a feature, window or theme declared there is built."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pytest
from polars.testing import assert_frame_equal
from worlds import event_row, warehouse_with

from core.contract import THEMES
from features.build import (
    build_features,
    build_features_in_transaction,
    load_feature_frame,
    one_transaction,
)
from features.catalog import CATALOG, WINDOWS_DAYS, Feature, FeatureCatalog, feature_catalog
from features.feature_sql import PERSON_FEATURES_DDL, person_features_ddl, themes_sql
from warehouse.checks import check_grain
from warehouse.db import open_warehouse
from warehouse.sql_files import read_sql, table_spec

AS_OF = date(2026, 3, 1)
EXTRA_THEME = "reindeer_herding"
EXTRA_WINDOW = 75


def _test_catalog() -> FeatureCatalog:
    """The models' catalog with one more count window and theme, and one feature declared alone."""
    catalog = feature_catalog(windows_days=(*WINDOWS_DAYS, EXTRA_WINDOW), themes=(*THEMES, EXTRA_THEME))
    shares_45d = Feature("n_share_45d", "shares in the 45 days before as_of", "engagement",
                         "event_count", window_days=45, event_type="share")
    return FeatureCatalog((*catalog.features, shares_45d))


def _world(tmp_path):
    """One person engaging with a film tagged with the extra theme, and with older content."""
    path = warehouse_with(tmp_path, [
        event_row("e1", "2026-02-27T10:00:00", event_type="view", content_id="film_reindeer"),
        event_row("e2", "2026-01-20T10:00:00", event_type="share", content_id="film_reindeer"),
        event_row("e3", "2026-01-10T10:00:00", event_type="view", content_id="image_coast"),
        event_row("e4", "2025-12-20T10:00:00", event_type="click", content_id="image_coast"),
        event_row("e5", "2025-12-19T10:00:00", event_type="impression", content_id="image_coast"),
    ])
    with open_warehouse(path) as con:
        for content_id, kind, duration, themes in (
                ("film_reindeer", "film", 60.0, [EXTRA_THEME, "mountains"]),
                ("image_coast", "image", None, ["coast"])):
            con.execute("insert into raw.content_catalog values (?, ?, ?, ?, ?, null, ?, ?)",
                        [content_id, kind, content_id, duration, themes, datetime(2025, 12, 1),
                         datetime(2026, 1, 1)])
    return path


def test_the_ddl_file_is_the_one_the_catalog_generates():
    # the warehouse's migrations create the table from the file, the build from the catalog
    assert read_sql(PERSON_FEATURES_DDL) == person_features_ddl(), (
        "run `uv run --locked python -m features.feature_sql` after changing features/catalog.py")
    spec = table_spec(PERSON_FEATURES_DDL)
    assert (spec.name, spec.key) == ("features.person_features", ("person_id", "as_of_date"))


def test_a_declared_window_theme_and_feature_are_built_with_their_values(tmp_path):
    # given a world and the features the models' catalog builds from it
    path = _world(tmp_path)
    build_features(path, AS_OF)
    with open_warehouse(path, read_only=True) as con:
        before = load_feature_frame(con, AS_OF)
    # when building with a catalog that declares one more window, theme and feature
    catalog = _test_catalog()
    with open_warehouse(path) as con, one_transaction(con):
        result = build_features_in_transaction(con, AS_OF, catalog)
    with open_warehouse(path, read_only=True) as con:
        after = load_feature_frame(con, AS_OF)
        columns = [row[0] for row in con.execute("describe features.person_features").fetchall()]
        types = {row[1] for row in con.execute("describe features.person_features").fetchall()[5:]}
        problems = check_grain(con, table_spec(PERSON_FEATURES_DDL))
    row = after.row(0, named=True)
    # then the table was recreated with exactly the catalog's columns, all doubles, key intact
    assert result.table_recreated and result.features == len(catalog.features)
    assert tuple(columns) == catalog.table_columns and types == {"DOUBLE"}
    assert problems == []
    # and the new columns hold what the events say (days 2, 40, 50, 71 and 72 before as_of; a
    # 75-day window reaches into the second active-day mask)
    assert (row["n_view_75d"], row["n_share_75d"], row["n_click_75d"]) == (2, 1, 1)
    assert (row["n_impression_75d"], row["n_engagements_75d"], row["active_days_75d"]) == (1, 4, 5)
    assert (row["n_click_30d"], row["active_days_30d"]) == (0, 1)
    assert row["n_share_45d"] == 1
    assert row[f"theme_share_90d__{EXTRA_THEME}"] == pytest.approx(2 / 4)
    assert row[f"theme_engagements_30d__{EXTRA_THEME}"] == 1
    # and every feature the models' catalog declares is unchanged (a tag outside the
    # contract counted towards the breadth of interest before; its flag counts it now)
    assert row["n_themes_90d"] == 3
    assert_frame_equal(after.select(before.columns), before)

    # when the models' catalog builds again, the table is back to its columns
    again = build_features(path, AS_OF)
    with open_warehouse(path, read_only=True) as con:
        assert_frame_equal(load_feature_frame(con, AS_OF), before)
    assert again.table_recreated


def test_a_declared_name_that_is_not_a_plain_identifier_is_refused():
    unsafe = replace(CATALOG.features[-1], name="x; drop table raw.events")
    with pytest.raises(ValueError, match="not a plain identifier"):
        person_features_ddl(FeatureCatalog((*CATALOG.features, unsafe)))
    with pytest.raises(ValueError, match="not a plain identifier"):
        themes_sql(feature_catalog(themes=(*THEMES, "coast'")))



def test_every_feature_says_in_words_what_a_higher_and_a_lower_value_mean():
    from features.catalog import FEATURES

    # the segment drivers read these; a feature without them could not be explained
    unsaid = [f.name for f in FEATURES if not f.phrase.strip() or not f.phrase_lower.strip()]
    assert unsaid == []
    same = [f.name for f in FEATURES if f.phrase == f.phrase_lower]
    assert same == []
