"""Point-in-time person features on a real DuckDB warehouse."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from worlds import catalog_frame, event_row, events_of, insert_events, warehouse_with, write_world

from core.contract import THEMES
from features.build import NoEventsBeforeError, build_features, load_feature_frame
from features.catalog import DESCRIPTIVE_COLUMNS, FEATURE_NAMES, KEY_COLUMNS
from models.datasets import labelled_snapshot
from warehouse.checks import check_grain
from warehouse.db import open_warehouse
from warehouse.sql_files import all_specs

AS_OF = date(2026, 1, 10)


def _features(path, as_of: date = AS_OF) -> pl.DataFrame:
    with open_warehouse(path, read_only=True) as con:
        return load_feature_frame(con, as_of)


def test_events_on_or_after_as_of_change_no_feature(tmp_path):
    # given a world and the features built from it as of a date in its middle
    path = tmp_path / "warehouse.duckdb"
    write_world(path, n_persons=300, n_days=40)
    as_of = date(2026, 1, 25)
    build_features(path, as_of)
    before = _features(path, as_of)
    # when events land exactly at as_of midnight and later, for known and for new persons,
    # including intent events, film watching and a new region
    person, id_type = before["person_id"], before["id_type"]
    later = events_of([
        event_row("late_1", "2026-01-25T00:00:00", person_id=person[0], id_type=id_type[0],
               event_type="job_click", content_id=None, municipality="Kiruna"),
        event_row("late_2", "2026-01-25T13:00:00", person_id=person[1], id_type=id_type[1],
               event_type="video_progress", watch_seconds=99.0, region="DE"),
        event_row("late_3", "2026-02-20T08:00:00", person_id=person[2], id_type=id_type[2],
               event_type="share"),
        event_row("late_4", "2026-01-26T08:00:00", person_id="person_brand_new", event_type="click"),
    ])
    insert_events(path, later)
    build_features(path, as_of)
    after = _features(path, as_of)
    # then every feature of every person is exactly as before
    assert_frame_equal(before, after)


def test_every_feature_table_holds_its_grain_and_key(tmp_path):
    # given features built on a small world
    path = tmp_path / "warehouse.duckdb"
    write_world(path, n_persons=200, n_days=30)
    build_features(path, date(2026, 1, 20))
    with open_warehouse(path) as con:
        labelled_snapshot(con, date(2026, 1, 27), horizon_days=3)
    specs = [spec for spec in all_specs() if spec.path.startswith("features/")]
    # when checking each feature table's stated key on the real data
    with open_warehouse(path, read_only=True) as con:
        problems = [problem for spec in specs for problem in check_grain(con, spec)]
        n_rows = con.execute("select count(*) from features.person_features").fetchone()[0]
        not_a_number = con.execute("select " + ", ".join(
            f"count(*) filter (where isnan({name}))" for name in FEATURE_NAMES
        ) + " from features.person_features").fetchone()
        shares = con.execute("select min(least(" + ", ".join(
            f"theme_share_90d__{theme}" for theme in THEMES) + ")), max(greatest(" + ", ".join(
            f"theme_share_90d__{theme}" for theme in THEMES) + ")) from features.person_features"
        ).fetchone()
    # then no key is null or repeated, and both dates are kept (labels included)
    assert len(specs) >= 6, [spec.path for spec in specs]
    assert not problems, problems
    assert n_rows > 200
    # and no feature is NaN, and theme shares are shares
    assert not any(not_a_number), [n for n, c in zip(FEATURE_NAMES, not_a_number) if c]
    assert 0.0 <= shares[0] and shares[1] <= 1.0, shares


def test_catalog_describes_exactly_the_feature_columns(tmp_path):
    # given a migrated warehouse
    with open_warehouse(tmp_path / "warehouse.duckdb") as con:
        columns = [row[0] for row in con.execute("describe features.person_features").fetchall()]
    # then the table holds the keys, descriptive columns and every catalog feature, in order
    assert columns == [*KEY_COLUMNS, *DESCRIPTIVE_COLUMNS, *FEATURE_NAMES]
    for theme in THEMES:
        assert f"theme_share_90d__{theme}" in FEATURE_NAMES, theme


def test_features_count_what_happened_before_as_of(tmp_path):
    # given one person with known events: a watched film, a share, an intent, and old activity
    film = catalog_frame().filter(pl.col("kind") == "film").row(0, named=True)
    path = warehouse_with(tmp_path, [
        event_row("e1", "2026-01-09T10:00:00", event_type="video_progress",
               content_id=film["content_id"], watch_seconds=film["duration_seconds"] / 2),
        event_row("e2", "2026-01-08T10:00:00", event_type="share", content_id=film["content_id"]),
        event_row("e3", "2026-01-05T10:00:00", event_type="guide_download", content_id=None,
               municipality="Boden"),
        event_row("e4", "2025-12-01T10:00:00", event_type="impression", region="DE"),
        event_row("e5", "2026-01-02T10:00:00", event_type="impression", region="DE"),
    ])
    # when building as of 2026-01-10
    result = build_features(path, AS_OF)
    row = _features(path).row(0, named=True)
    # then the counts, windows, recency, completion and theme shares are what the events say
    assert result.persons == 1
    assert row["n_events_all"] == 5
    assert row["n_video_progress_3d"] == 1 and row["n_share_3d"] == 1
    assert row["n_impression_7d"] == 0 and row["n_impression_14d"] == 1
    assert row["n_impression_90d"] == 2
    assert row["n_intent_7d"] == 1 and row["n_guide_download_all"] == 1
    assert row["days_since_last_intent"] == 5
    assert row["days_since_last_event"] == 1
    assert row["days_since_first_event"] == 40
    assert row["active_days_90d"] == 5
    assert row["home_region"] == "SE-AB", "three of five events came from SE-AB"
    assert row["completion_ratio_90d"] == pytest.approx(0.5)
    for theme in film["themes"]:
        if theme in THEMES:
            assert row[f"theme_share_90d__{theme}"] == 1.0, theme
    untouched = [t for t in THEMES if t not in film["themes"]]
    assert all(row[f"theme_share_90d__{t}"] == 0.0 for t in untouched)
    assert row["n_themes_90d"] == len(film["themes"])


def test_withdrawn_consent_and_opt_outs_are_never_profiled(tmp_path):
    # given three persons: one consenting, one whose latest event withdrew consent, one opted out
    path = warehouse_with(tmp_path, [
        event_row("a1", "2026-01-05T10:00:00", person_id="person_consenting"),
        event_row("b1", "2026-01-04T10:00:00", person_id="person_withdrawn"),
        event_row("b2", "2026-01-12T10:00:00", person_id="person_withdrawn", consent=False),
        event_row("c1", "2026-01-05T10:00:00", person_id="person_opted_out"),
    ])
    with open_warehouse(path) as con:
        con.execute("insert into raw.suppressed_persons values "
                    "(sha256('person_opted_out'), 'objection', '2026-01-06', now())")
    # when building features (the withdrawal comes after as_of: the latest consent decides)
    build_features(path, AS_OF)
    # then only the consenting person is in any feature table
    with open_warehouse(path, read_only=True) as con:
        persons_by_table = {
            table: {row[0] for row in con.execute(f"select person_id from {table}").fetchall()}
            for (table,) in con.execute(
                "select table_name from meta.person_tables where table_name like 'features.%'"
            ).fetchall()
        }
    assert "features.person_features" in persons_by_table
    for table, persons in persons_by_table.items():
        assert persons <= {"person_consenting"}, f"{table} profiles {persons}"



def test_latest_consent_breaks_ties_by_withdrawal_then_smallest_event_id(tmp_path):
    # given persons whose latest events tie in time
    path = warehouse_with(tmp_path, [
        # consent given and withdrawn at the same instant: withdrawal wins
        event_row("t1", "2026-01-05T10:00:00", person_id="person_tie", consent=True),
        event_row("t2", "2026-01-05T10:00:00", person_id="person_tie", consent=False),
        # two id types at the latest instant: the smallest event_id decides the id_type
        event_row("m0", "2026-01-01T10:00:00", person_id="person_mixed", id_type="publisher"),
        event_row("m2", "2026-01-05T10:00:00", person_id="person_mixed", id_type="maid"),
        event_row("m1", "2026-01-05T10:00:00", person_id="person_mixed", id_type="cookie"),
        # a withdrawal followed by renewed consent: the latest decides
        event_row("r1", "2026-01-03T10:00:00", person_id="person_renewed", consent=False),
        event_row("r2", "2026-01-06T10:00:00", person_id="person_renewed", consent=True),
    ])
    # when reading the eligibility view and building features
    with open_warehouse(path, read_only=True) as con:
        eligibility = {row[0]: row[1:] for row in con.execute(
            "select person_id, id_type, latest_consent, last_event_at, is_eligible "
            "from marts.person_eligibility").fetchall()}
    build_features(path, AS_OF)
    profiled = dict(_features(path).select("person_id", "id_type").iter_rows())
    # then withdrawal wins a tie, the smallest event_id picks the id_type, and the latest counts
    assert eligibility["person_tie"] == ("cookie", False, datetime(2026, 1, 5, 10), False)
    assert eligibility["person_mixed"] == ("cookie", True, datetime(2026, 1, 5, 10), True)
    assert eligibility["person_renewed"] == ("cookie", True, datetime(2026, 1, 6, 10), True)
    assert profiled == {"person_mixed": "cookie", "person_renewed": "cookie"}, profiled

def test_rebuild_replaces_only_its_own_date(tmp_path):
    # given features built for two dates
    path = tmp_path / "warehouse.duckdb"
    write_world(path, n_persons=100, n_days=20)
    first = build_features(path, date(2026, 1, 10))
    second = build_features(path, date(2026, 1, 15))
    # when the first date is rebuilt
    again = build_features(path, date(2026, 1, 10))
    # then it has the same persons, and the other date is kept
    with open_warehouse(path, read_only=True) as con:
        counts = dict(con.execute("select as_of_date, count(*) from features.person_features "
                                  "group by all").fetchall())
    assert counts == {date(2026, 1, 10): first.persons, date(2026, 1, 15): second.persons}
    assert again.persons == first.persons


def test_no_events_before_as_of_is_a_clear_error(tmp_path):
    # given events only from 2026-01-05
    path = warehouse_with(tmp_path, [event_row("e1", "2026-01-05T10:00:00")])
    # when building as of that very day, then the error says there is nothing before it
    with pytest.raises(NoEventsBeforeError, match="no events before 2026-01-05"):
        build_features(path, date(2026, 1, 5))
    assert _features(path, date(2026, 1, 5)).height == 0


def test_erasure_after_a_build_removes_the_person_from_every_feature_table(tmp_path):
    from warehouse.optout import apply_optouts

    # given features and labels built for two persons
    path = warehouse_with(tmp_path, [
        event_row("a1", "2026-01-05T10:00:00", person_id="person_staying"),
        event_row("b1", "2026-01-05T10:00:00", person_id="person_leaving"),
    ])
    with open_warehouse(path) as con:
        labelled_snapshot(con, AS_OF, horizon_days=3)
    # when one of them asks for erasure
    optouts = tmp_path / "optouts.csv"
    optouts.write_text("person_id,requested_at,kind\nperson_leaving,2026-01-11T00:00:00Z,erasure\n",
                       encoding="utf-8")
    apply_optouts(path, optouts)
    # then no feature or label table holds a row about them
    with open_warehouse(path, read_only=True) as con:
        tables = [row[0] for row in con.execute(
            "select table_name from meta.person_tables where table_name like 'features.%'"
        ).fetchall()]
        left = {table: con.execute(f"select count(*) from {table} "
                                   "where person_id = 'person_leaving'").fetchone()[0]
                for table in tables}
    assert {"features.person_features", "features.person_label"} <= set(tables)
    assert not any(left.values()), left
