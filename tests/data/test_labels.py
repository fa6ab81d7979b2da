"""Labels and snapshot plans: windows that end where they should and never leak."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

import pytest
from worlds import event_row, warehouse_with, write_world

from models.datasets import (
    TrainingDataError,
    bounded_snapshot,
    bounded_snapshot_of_files,
    build_training_sets,
    check_plan_against_data,
    labelled_snapshot,
    labelled_snapshot_in_transaction,
    plan_snapshots,
    write_labelled_snapshot_in_transaction,
)
from warehouse.db import one_transaction, open_warehouse

AS_OF = date(2026, 1, 10)


def _labels(path, as_of: date = AS_OF, horizon_days: int = 7,
            intent_types=("job_click", "guide_download", "inquiry", "signup",
                          "fair_registration")) -> dict[str, bool]:
    with open_warehouse(path) as con:
        frame = labelled_snapshot(con, as_of, horizon_days, tuple(intent_types))
    return dict(zip(frame["person_id"], frame["label"]))


def test_label_window_is_as_of_inclusive_to_horizon_exclusive(tmp_path):
    # given five persons with one intent each, around the edges of [2026-01-10, 2026-01-17)
    # (each also has an earlier view, so each is profiled as of 2026-01-10)
    edges = {
        "person_just_before": "2026-01-09T23:59:59",
        "person_at_start": "2026-01-10T00:00:00",
        "person_last_second": "2026-01-16T23:59:59",
        "person_at_end": "2026-01-17T00:00:00",
        "person_no_intent": None,
    }
    rows = []
    for person, at in edges.items():
        rows.append(event_row(f"{person}_view", "2026-01-02T10:00:00", person_id=person))
        if at:
            rows.append(event_row(f"{person}_intent", at, person_id=person, event_type="signup",
                               content_id=None))
    path = warehouse_with(tmp_path, rows)
    # when labelling as of 2026-01-10 with a 7-day horizon
    labels = _labels(path)
    # then only intents inside the half-open window count
    assert labels == {
        "person_just_before": False, "person_at_start": True, "person_last_second": True,
        "person_at_end": False, "person_no_intent": False,
    }


def test_only_the_chosen_intent_types_count(tmp_path):
    # given one person who signed up and one who clicked through to jobs
    path = warehouse_with(tmp_path, [
        event_row("v1", "2026-01-02T10:00:00", person_id="person_signup"),
        event_row("v2", "2026-01-02T10:00:00", person_id="person_jobclick"),
        event_row("i1", "2026-01-11T10:00:00", person_id="person_signup", event_type="signup",
               content_id=None),
        event_row("i2", "2026-01-11T10:00:00", person_id="person_jobclick", event_type="job_click",
               content_id=None),
    ])
    # when only job clicks count, then only the job clicker is positive
    assert _labels(path, intent_types=("job_click",)) == {
        "person_signup": False, "person_jobclick": True}
    # and an unknown intent type is refused with the list of valid ones
    with pytest.raises(TrainingDataError, match="subset of job_click"):
        _labels(path, intent_types=("purchase",))


def test_snapshot_label_windows_never_overlap_and_end_by_the_scoring_date():
    # given a scoring date, horizon and weekly snapshots
    plan = plan_snapshots(date(2026, 3, 1), horizon_days=14, n_training_snapshots=4,
                          snapshot_interval_days=7)
    horizon = timedelta(days=14)
    # then training labels end by the validation date, validation by the test date and the
    # test window ends on the scoring date
    assert all(d + horizon <= plan.validation for d in plan.training), plan
    assert plan.validation + horizon <= plan.test
    assert plan.test + horizon == plan.scoring
    assert list(plan.training) == sorted(plan.training) and len(set(plan.training)) == 4


def test_plan_errors_are_clear(tmp_path):
    # given a world of 40 days from 2026-01-01
    path = tmp_path / "warehouse.duckdb"
    write_world(path, n_persons=50, n_days=40)
    with open_warehouse(path) as con:
        # when the test label window would run past the last day with events
        too_late = plan_snapshots(date(2026, 2, 20), 14, 1, 7)
        with pytest.raises(TrainingDataError, match="past the last day with events"):
            check_plan_against_data(con, too_late)
        # when the earliest training snapshot lies before the first event
        too_early = plan_snapshots(date(2026, 2, 10), 14, 4, 7)
        with pytest.raises(TrainingDataError, match="no events before the earliest training"):
            build_training_sets(con, too_early, ("signup",))
        # then a plan that fits is accepted
        check_plan_against_data(con, plan_snapshots(date(2026, 2, 10), 7, 2, 7))


def _sample_key(person_id: str, as_of: date) -> int:
    """labelled_snapshot.sql's sample_key: md5_number_upper of "person|date" (the digest's first
    8 bytes read little-endian, as warehouse.shards.shard_of reads them)."""
    digest = hashlib.md5(f"{person_id}|{as_of.isoformat()}".encode(), usedforsecurity=False)
    return int.from_bytes(digest.digest()[:8], "little")


def test_a_bounded_snapshot_keeps_the_persons_of_smallest_sample_key(tmp_path):
    # given 40 persons profiled on the as-of date
    rows = [event_row(f"e{n}", "2026-01-03T10:00:00", person_id=f"person_{n:04d}")
            for n in range(40)]
    path = warehouse_with(tmp_path, rows)
    with open_warehouse(path) as con:
        whole = labelled_snapshot(con, AS_OF, 7)
        # when the snapshot is bounded to 15 rows, twice
        bounded = [labelled_snapshot(con, AS_OF, 7, max_rows=15) for _ in range(2)]
    # then it keeps the 15 persons of smallest key (fixed by person and date alone), in
    # person order, with the whole snapshot's columns and values, and keeps them again
    assert whole.height == 40
    expected = sorted(sorted(whole["person_id"], key=lambda person: _sample_key(person, AS_OF))[:15])
    assert bounded[0]["person_id"].to_list() == expected
    assert bounded[0].equals(whole.filter(whole["person_id"].is_in(expected)))
    assert bounded[1].equals(bounded[0])


def test_a_snapshot_bounded_from_part_files_is_the_one_bounded_in_memory(tmp_path):
    # given 40 persons profiled on the as-of date, and the snapshot's parts as files (as the
    # shards write them: each within the bound already) and as frames
    rows = [event_row(f"e{n}", "2026-01-03T10:00:00", person_id=f"person_{n:04d}")
            for n in range(40)]
    path = warehouse_with(tmp_path, rows)
    with open_warehouse(path) as con, one_transaction(con):
        frame = labelled_snapshot_in_transaction(con, AS_OF, 7, ("job_click",), None)
        written = write_labelled_snapshot_in_transaction(
            con, AS_OF, 7, ("job_click",), None, tmp_path / "whole.parquet")
    halves = [frame.filter(frame["person_id"] < "person_0020"),
              frame.filter(frame["person_id"] >= "person_0020")]
    part_paths = [tmp_path / f"part-{n}.parquet" for n in range(2)]
    for half, part_path in zip(halves, part_paths, strict=True):
        half.write_parquet(part_path)
    # then the file holds the frame's rows, and every bound gives the same rows both ways
    assert written == 40
    assert bounded_snapshot_of_files([tmp_path / "whole.parquet"], None).equals(
        bounded_snapshot([frame], None))
    for max_rows in (None, 1, 15, 40, 100):
        assert bounded_snapshot_of_files(part_paths, max_rows).equals(
            bounded_snapshot(halves, max_rows)), max_rows
