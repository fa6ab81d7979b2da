"""The number of training snapshots is an upper bound, clamped to the data in the warehouse."""

from __future__ import annotations

from datetime import date

import pytest
from worlds import write_world

from models.datasets import (
    TrainingDataError,
    build_training_sets,
    check_plan_against_data,
    fit_plan_to_data,
    plan_snapshots,
)
from warehouse.db import open_warehouse


def test_training_snapshots_before_the_first_event_are_dropped(tmp_path):
    # given a world of 40 days from 2026-01-01 and six weekly training snapshots whose
    # earliest three lie on or before the first event day
    path = tmp_path / "warehouse.duckdb"
    write_world(path, n_persons=60, n_days=40)
    plan = plan_snapshots(date(2026, 2, 10), horizon_days=7, n_training_snapshots=6,
                          snapshot_interval_days=7)
    assert plan.training[0] == date(2025, 12, 16), plan
    with open_warehouse(path) as con:
        first = con.execute("select min(occurred_at)::date from raw.events").fetchone()[0]
        # when fitting the plan to the data
        fitted = fit_plan_to_data(con, plan)
        # then exactly the snapshots after the first event day remain, and nothing else moved
        assert fitted.training == tuple(d for d in plan.training if d > first), fitted
        assert len(fitted.training) == 3 and fitted.training[-1] == plan.training[-1]
        assert (fitted.validation, fitted.test, fitted.scoring, fitted.horizon_days) == (
            plan.validation, plan.test, plan.scoring, plan.horizon_days)
        # and the fitted plan builds, while the unfitted one is refused as before
        sets = build_training_sets(con, fitted, ("job_click", "signup"))
        assert set(sets.training["as_of_date"].unique()) == set(fitted.training)
        with pytest.raises(TrainingDataError, match="no events before the earliest training"):
            check_plan_against_data(con, plan)


def test_a_plan_entirely_before_the_data_still_fails_clearly(tmp_path):
    # given a plan whose every training snapshot precedes the first event
    path = tmp_path / "warehouse.duckdb"
    write_world(path, n_persons=60, n_days=40)
    plan = plan_snapshots(date(2026, 2, 10), horizon_days=14, n_training_snapshots=3,
                          snapshot_interval_days=7)
    with open_warehouse(path) as con:
        fitted = fit_plan_to_data(con, plan)
        # then the latest training snapshot is kept so the usual check can explain the problem
        assert fitted.training == plan.training[-1:]
        with pytest.raises(TrainingDataError, match="no events before the earliest training"):
            check_plan_against_data(con, fitted)
