"""Behavioural tests of the trained model (as in Made With ML): invariance, direction and minimum
functionality, on a tiny simulated world trained as `norrut train` trains, without MLflow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from worlds import events_frame, write_world

from features.build import build_features, load_feature_frame
from models.datasets import (
    build_training_sets,
    feature_matrix,
    fit_plan_to_data,
    plan_snapshots,
)
from models.prediction import predict_scores
from models.settings import TrainSettings
from models.training import TrainingOutcome, fit_and_evaluate
from warehouse.db import open_warehouse

# 1,000 persons over 8 weeks with two weekly training snapshots train in about a second.
N_PERSONS, N_DAYS = 1000, 56
SCORING_DATE = date(2026, 2, 26)  # the day after the world's last day
JOB_ENGAGEMENTS = ("job_engagements_7d", "job_engagements_14d", "job_engagements_30d",
                   "job_engagements_90d")


@dataclass(frozen=True)
class TrainedWorld:
    events: pl.DataFrame
    outcome: TrainingOutcome

    def scores(self, frame: pl.DataFrame) -> np.ndarray:
        """The model's scores of the persons of a feature frame, as the scoring step computes
        them (a float32 matrix through models' scorer)."""
        return predict_scores(self.outcome.model, _float32(feature_matrix(frame)), threads=1)


def _float32(matrix) -> np.ndarray:
    return np.ascontiguousarray(matrix.to_numpy(np.float32))


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> TrainedWorld:
    warehouse = tmp_path_factory.mktemp("behaviour") / "warehouse.duckdb"
    events = events_frame(N_PERSONS, N_DAYS)
    write_world(warehouse, events=events)
    settings = TrainSettings(as_of=SCORING_DATE, min_positives=30, n_training_snapshots=2)
    plan = plan_snapshots(SCORING_DATE, settings.horizon_days, settings.n_training_snapshots,
                          settings.snapshot_interval_days)
    with open_warehouse(warehouse) as con:
        plan = fit_plan_to_data(con, plan)
        sets = build_training_sets(con, plan, settings.intent_types)
    return TrainedWorld(events, fit_and_evaluate(settings, plan, sets))


def _features_of(warehouse: Path, events: pl.DataFrame, as_of: date) -> pl.DataFrame:
    write_world(warehouse, events=events)
    build_features(warehouse, as_of)
    with open_warehouse(warehouse, read_only=True) as con:
        return load_feature_frame(con, as_of)


def test_renaming_a_person_changes_nothing_in_their_score(trained, tmp_path):
    # given the test snapshot's persons, and the same world in which 50 of them carry another
    # pseudonymous id (one that sorts after everyone else's), their events untouched
    outcome = trained.outcome
    renamed = {f"person_{index:06d}": f"person_9{index:05d}" for index in range(0, 500, 10)}
    events = trained.events.with_columns(pl.col("person_id").replace(renamed))
    # when building that world's features and scoring both
    as_of = outcome.plan.test
    original = outcome.sets.test.drop("label").sort("person_id")
    under_new_ids = _features_of(tmp_path / "renamed.duckdb", events, as_of).with_columns(
        pl.col("person_id").replace({new: old for old, new in renamed.items()})
    ).sort("person_id")
    # then every person, renamed or not, has the same features and the same score
    assert under_new_ids["person_id"].to_list() == original["person_id"].to_list()
    assert set(renamed) <= set(original["person_id"]), "the renamed persons are scored"
    np.testing.assert_array_equal(_float32(feature_matrix(under_new_ids)),
                                  _float32(feature_matrix(original)))
    np.testing.assert_array_equal(trained.scores(under_new_ids), trained.scores(original))


def test_more_job_content_engagement_never_lowers_the_score(trained):
    # given the test snapshot's persons
    persons = trained.outcome.sets.test
    before = trained.scores(persons)
    # when each of them engages with job content `extra` more times in the last week (every
    # job-engagement window counts them), all else equal
    steps = []
    for extra in (1, 5, 20, 50):
        more = persons.with_columns(pl.col(name) + extra for name in JOB_ENGAGEMENTS)
        steps.append(trained.scores(more))
    # then no score falls as engagement grows (the catalog declares those features increasing:
    # LightGBM's monotone constraints, non-negative baseline weights, increasing calibration;
    # without them single scores fell by up to 0.0015 between steps on this world), beyond
    # float rounding, and on average scores rise
    for lower, higher in zip([before, *steps], steps, strict=False):
        assert np.min(higher - lower) >= -1e-12, np.min(higher - lower)
    assert np.mean(steps[-1] - before) > 0.002, np.mean(steps[-1] - before)
    assert np.mean(steps[-1] > before) > 0.5, "most persons' scores rise"


def test_the_model_ranks_converting_persons_above_the_rest(trained):
    # given the out-of-time test snapshot, whose labels the model never saw
    persons = trained.outcome.sets.test
    labels = persons["label"].cast(pl.Int8).to_numpy()
    assert 20 <= labels.sum() <= len(labels) - 20, "both kinds of person are there to rank"
    # when scoring it
    from sklearn.metrics import roc_auc_score

    auc = roc_auc_score(labels, trained.scores(persons))
    # then persons with an intent event in the label window rank clearly better than chance
    assert auc > 0.65, auc
    assert trained.outcome.test_metrics["roc_auc"] == pytest.approx(auc, abs=1e-6)
