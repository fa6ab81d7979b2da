"""Why this audience (issue 15): on a simulated world where affinity for job content drives
intent, a segment selected on job themes is explained by job-content features first."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest
from worlds import JOB_THEMES, events_frame, write_world

from activation.definitions import SegmentDefinition
from activation.drivers import population_contributions, segment_drivers
from activation.selection import select_segment
from features.catalog import FEATURES
from models.datasets import build_training_sets, feature_matrix, fit_plan_to_data, plan_snapshots
from models.prediction import booster_contributions, predict_scores
from models.settings import TrainSettings
from models.training import fit_and_evaluate
from warehouse.db import open_warehouse

N_PERSONS, N_DAYS = 3000, 70
SCORING_DATE = date(2026, 3, 12)
JOB_FEATURES = {f.name for f in FEATURES if f.name.startswith("job_") or f.theme in JOB_THEMES}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    warehouse = tmp_path_factory.mktemp("drivers") / "warehouse.duckdb"
    write_world(warehouse, events=events_frame(N_PERSONS, N_DAYS))
    settings = TrainSettings(as_of=SCORING_DATE, min_positives=30, n_training_snapshots=2)
    plan = plan_snapshots(SCORING_DATE, settings.horizon_days, settings.n_training_snapshots,
                          settings.snapshot_interval_days)
    with open_warehouse(warehouse) as con:
        plan = fit_plan_to_data(con, plan)
        sets = build_training_sets(con, plan, settings.intent_types)
    return fit_and_evaluate(settings, plan, sets)


def _scored(outcome) -> pl.DataFrame:
    """The test snapshot's persons with their scores, ranks and deciles, as exports see them."""
    persons = outcome.sets.test.drop("label")
    matrix = np.ascontiguousarray(feature_matrix(persons).to_numpy(np.float32))
    scores = predict_scores(outcome.model, matrix, threads=1)
    return persons.with_columns(pl.Series("score", scores)).with_columns(
        pl.col("score").rank("ordinal", descending=True).alias("rank"),
        (pl.col("score").rank("ordinal", descending=True) * 10 // (persons.height + 1) + 1)
        .alias("decile"))


def test_a_segment_selected_on_job_themes_is_driven_by_job_content(trained):
    # given everyone scored by a model trained as `norrut train` trains (calibrated, maybe
    # blended), and a segment of the persons whose engagement is mostly on job themes
    population = _scored(trained)
    segment = SegmentDefinition.model_validate({
        "name": "job-seekers", "description": "Mostly job content.",
        "where": {"theme_affinity": {"themes": list(JOB_THEMES), "min_share": 1.0}}})
    members = select_segment(population, segment)
    assert 50 < members.height < population.height / 2, members.height
    # when its drivers are computed against everyone scored
    drivers = segment_drivers(population_contributions(trained.model, population),
                              members["person_id"])
    # then what its members do more of than everyone comes first, job content first of all; job
    # content is most of the drivers (the rest is the other side of the same shares: less of
    # other themes, listed after), each said in words and each raising the members' scores
    assert len(drivers) == 5, drivers
    more = [driver for driver in drivers if driver["members_value"] == "higher"]
    assert more and more[0]["feature"] in JOB_FEATURES, drivers
    assert "job" in more[0]["words"], more[0]
    assert drivers[0] == more[0], "what members do more of is listed first"
    assert sum(driver["feature"] in JOB_FEATURES for driver in drivers) >= 3, drivers
    assert all(driver["contribution_raised_by"] > 0 for driver in drivers)
    assert all(driver["members_value"] == "higher" or driver["feature"].startswith("theme_share")
               for driver in drivers), drivers


def test_contributions_add_up_to_the_boosters_log_odds(trained):
    # given the calibrated model and a few persons
    persons = trained.sets.test.drop("label").head(200)
    # when reading its contributions
    names, contributions = booster_contributions(trained.model, persons)
    # then they are the booster's exact SHAP values: with the bias, they sum to its raw score,
    # and a model wrapped another way (a bare booster) gives the same numbers
    from models.prediction import _boosters_in

    (booster,) = _boosters_in(trained.model)
    matrix = np.column_stack([persons[name].cast(pl.Float64).to_numpy() for name in names])
    raw = booster.predict(matrix, raw_score=True)
    bias = booster.predict(matrix, pred_contrib=True)[:, -1]
    np.testing.assert_allclose(contributions.sum(axis=1) + bias, raw, rtol=1e-6, atol=1e-6)
    again_names, again = booster_contributions(booster, persons)
    assert again_names == names
    np.testing.assert_array_equal(again, contributions)
    # and so does a pyfunc-like wrapper around a native booster (how MLflow may log it)
    class PyfuncLike:
        def unwrap_python_model(self):
            return SimpleNamespace(model=SimpleNamespace(booster=booster))

    np.testing.assert_array_equal(booster_contributions(PyfuncLike(), persons)[1], contributions)


def test_a_model_without_a_booster_is_refused():
    with pytest.raises(LookupError, match="no LightGBM booster"):
        booster_contributions(object(), pl.DataFrame({"a": [1.0]}))
