"""Metrics, the leakage guard and the promotion rule, on small hand-checked inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from models.leakage import LeakageError, check_no_leaking_feature
from models.metrics import (
    METRIC_KEYS,
    cumulative_gains,
    evaluate,
    expected_calibration_error,
    expected_roc_auc,
    lift_at,
)
from models.promotion import decide


def test_lift_and_gains_follow_their_definitions():
    # given 10 persons, 2 positives, scored so one positive is ranked first and one fifth
    y = np.array([1, 0, 0, 0, 1, 0, 0, 0, 0, 0])
    p = np.linspace(0.9, 0.0, 10)
    # then the top 10 % holds 1 of 2 positives (rate 1.0 vs base 0.2: lift 5)
    assert lift_at(y, p, 0.10) == pytest.approx(5.0)
    # and the cumulative gain reaches 0.5 at decile 1 and 1.0 from decile 5 on
    assert cumulative_gains(y, p) == pytest.approx([0.5, 0.5, 0.5, 0.5] + [1.0] * 6)


def test_expected_calibration_error_is_zero_when_rates_match():
    # given predictions of 0.25 for a group where exactly a quarter are positive
    y = np.array([1, 0, 0, 0] * 25)
    # then a perfectly calibrated prediction has no error and an overconfident one has
    assert expected_calibration_error(y, np.full(100, 0.25)) == pytest.approx(0.0)
    assert expected_calibration_error(y, np.full(100, 0.75)) == pytest.approx(0.5)


def test_evaluate_reports_every_metric_key():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    metrics = evaluate(y, np.clip(y * 0.3 + rng.uniform(0, 0.7, 500), 0, 1))
    assert set(metrics) == set(METRIC_KEYS)
    assert 0.5 < metrics["roc_auc"] <= 1.0


def test_expected_auc_is_the_auc_for_certain_outcomes_and_the_mean_over_drawn_ones():
    # given scores with ties, and outcomes known for certain (probabilities 0 or 1)
    rng = np.random.default_rng(2)
    scores = rng.integers(0, 20, 400).astype(float)
    certain = (rng.uniform(size=400) < 0.3).astype(float)
    # then the expected AUC is the ordinary AUC, ties counted half
    assert expected_roc_auc(certain, scores) == pytest.approx(roc_auc_score(certain, scores))
    # and with uncertain outcomes it is the mean AUC over outcomes drawn from the probabilities
    probability = rng.uniform(0.0, 0.6, 400)
    drawn = [roc_auc_score(rng.uniform(size=400) < probability, scores) for _ in range(2000)]
    assert expected_roc_auc(probability, scores) == pytest.approx(np.mean(drawn), abs=0.003)
    # and a constant score ranks nobody: exactly 0.5
    assert expected_roc_auc(probability, np.zeros(400)) == pytest.approx(0.5)


def test_leakage_alarm_fires_on_a_planted_leaking_feature():
    # given honest noisy features and one planted feature that is the label plus a little noise
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 2000)
    X = pd.DataFrame({
        "n_views_7d": rng.poisson(2 + y, 2000).astype(float),
        "days_since_last_intent": np.where(rng.uniform(size=2000) < 0.3, np.nan, 5.0),
        "planted_future_intent": y + rng.normal(0, 0.05, 2000),
    })
    # when the guard runs, then it stops the run and names the planted feature only
    with pytest.raises(LeakageError, match="planted_future_intent") as raised:
        check_no_leaking_feature(X, y)
    assert "n_views_7d" not in str(raised.value)
    # and without the planted feature it passes, reporting each feature's own AUC
    aucs = check_no_leaking_feature(X.drop(columns="planted_future_intent"), y)
    assert aucs["days_since_last_intent"] == pytest.approx(0.5, abs=0.05)


@pytest.mark.parametrize(("candidate", "promoted"), [
    ({"roc_auc": 0.81, "log_loss": 0.30}, True),
    ({"roc_auc": 0.81, "log_loss": 0.31}, False),   # better ranking, worse probabilities
    ({"roc_auc": 0.80, "log_loss": 0.29}, False),   # equal AUC is not better
    ({"roc_auc": 0.70, "log_loss": 0.40}, False),
])
def test_promotion_rule_needs_higher_auc_and_no_worse_log_loss(candidate, promoted):
    champion = {"roc_auc": 0.80, "log_loss": 0.30}
    decision, reason = decide(candidate, champion)
    assert decision is promoted, reason
    assert "AUC" in reason and "log loss" in reason


def _two_models(rng: np.random.Generator):
    """LightGBM and the logistic baseline on a small frame with missing values and one column
    missing throughout training (the baseline's imputer drops it)."""
    from models.estimators import LightGBMParams, fit_baseline, fit_lightgbm

    X = pd.DataFrame(rng.poisson(2.0, size=(3000, 4)).astype(float), columns=list("abcd"))
    X.loc[rng.uniform(size=3000) < 0.2, "b"] = np.nan
    X["never_seen"] = np.nan
    y = (rng.uniform(size=3000) < 1 / (1 + np.exp(-(0.8 * X["a"] - 3.5)))).astype(int)
    params = LightGBMParams(min_child_samples=50)
    trees = fit_lightgbm(X[:2000], y[:2000], X[2000:], y[2000:], params)
    return X, y, trees, fit_baseline(X[:2000], y[:2000])


def test_the_blend_is_the_weighted_log_odds_of_its_parts_and_scores_the_same_everywhere():
    from models.estimators import (
        LogOddsBlend,
        blend,
        calibrate,
        choose_blend_weight,
        linear_log_odds,
    )
    from models.prediction import predict_scores

    # given a fitted LightGBM model and logistic baseline
    X, y, trees, baseline = _two_models(np.random.default_rng(3))
    held_out, y_held_out = X[2000:], y[2000:]
    # then the folded linear log-odds equal the pipeline's, missing values and dropped column
    # included
    np.testing.assert_allclose(linear_log_odds(baseline, held_out.to_numpy()),
                               baseline.decision_function(held_out), rtol=1e-9, atol=1e-9)
    # and the blend's log-odds are the weighted sum of the parts' log-odds
    blended = LogOddsBlend(trees, baseline, 0.25)
    np.testing.assert_allclose(
        blended.decision_function(held_out),
        0.25 * trees.predict(held_out, raw_score=True)
        + 0.75 * baseline.decision_function(held_out), rtol=1e-9, atol=1e-9)
    # and the weight is the validation AUC's best, LightGBM alone being the model itself
    weight, aucs = choose_blend_weight(trees, baseline, held_out, y_held_out)
    assert aucs[weight] == max(aucs.values()) and set(aucs) == {0.0, 0.25, 0.5, 0.75, 1.0}
    assert blend(trees, baseline, 1.0) is trees
    # and calibrated, it gives the same probabilities on a frame and on the scoring array
    model, _ = calibrate(blended, held_out, y_held_out)
    np.testing.assert_allclose(predict_scores(model, held_out.to_numpy(np.float32)),
                               model.predict_proba(held_out)[:, 1], atol=1e-6)
    assert list(model.feature_names_in_) == list(X.columns)


def test_a_persons_log_odds_do_not_depend_on_who_is_scored_with_them():
    from models.estimators import FoldedLogistic

    # given the folded logistic model of as many features as the catalog's, and rows with
    # missing values and negative ones
    rng = np.random.default_rng(0)
    columns = 45
    linear = FoldedLogistic(rng.normal(size=columns), rng.normal(size=columns), 0.3)
    matrix = rng.exponential(size=(5000, columns)).astype(np.float32)
    matrix[rng.uniform(size=matrix.shape) < 0.1] = np.nan
    matrix[:, 3] -= 1
    everyone = linear.log_odds(matrix, threads=2)
    # when slices of them are scored on their own (as a shard scores its persons)
    for start, stop in ((1, 4000), (3, 777), (0, 5), (17, 4999)):
        alone = linear.log_odds(np.ascontiguousarray(matrix[start:stop]), threads=1)
        # then every row's log-odds are the same to the last bit
        np.testing.assert_array_equal(alone, everyone[start:stop])


@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
@pytest.mark.parametrize("lightgbm_weight", [1.0, 0.5])
def test_the_portable_model_gives_sklearns_probabilities_and_survives_its_files(
        method, lightgbm_weight, tmp_path):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator

    from models.estimators import blend
    from models.prediction import predict_scores
    from models.propensity import BOOSTER_FILE, PARTS_FILE, PropensityModel

    # given LightGBM, alone or blended with the baseline, calibrated as training does, and
    # also as a cross-validated ensemble of calibrators (averaged)
    X, y, trees, baseline = _two_models(np.random.default_rng(5))
    held_out, y_held_out = X[2000:], y[2000:]
    for calibrated in (
            CalibratedClassifierCV(FrozenEstimator(blend(trees, baseline, lightgbm_weight)),
                                   method=method),
            CalibratedClassifierCV(FrozenEstimator(blend(trees, baseline, lightgbm_weight)),
                                   method=method, cv=3, ensemble=True)):
        calibrated.fit(held_out, y_held_out)
        expected = calibrated.predict_proba(X)[:, 1]
        # when its numbers are read out, written to files and read back
        portable = PropensityModel.of(calibrated)
        loaded = PropensityModel.load(portable.save(tmp_path / f"{method}-{lightgbm_weight}"))
        # then the files are LightGBM's text format and JSON, nothing pickled
        assert (tmp_path / f"{method}-{lightgbm_weight}" / BOOSTER_FILE).read_text().startswith(
            "tree\n")
        assert {path.name for path in (tmp_path / f"{method}-{lightgbm_weight}").iterdir()} == {
            BOOSTER_FILE, PARTS_FILE}
        # and every form gives sklearn's probabilities, missing values included
        for model in (portable, loaded):
            np.testing.assert_allclose(model.predict_proba(X)[:, 1], expected, rtol=0,
                                       atol=1e-12)
            np.testing.assert_allclose(predict_scores(model, X.to_numpy(np.float32)), expected,
                                       atol=1e-6)
        assert list(loaded.feature_names_in_) == list(X.columns)
        assert np.ptp(expected) > 0.02, "probabilities that barely vary would prove little"


def test_features_declared_increasing_are_constrained_in_both_models():
    from features.catalog import CATALOG
    from models.estimators import LightGBMParams, fit_baseline, fit_lightgbm

    # given two nested windows of job engagement that carry the same signal, and a free column
    rng = np.random.default_rng(11)
    recent = rng.poisson(1.0, 4000).astype(float)
    X = pd.DataFrame({"job_engagements_7d": recent,
                      "job_engagements_30d": recent + rng.poisson(0.3, 4000),
                      "n_views_30d": rng.poisson(2.0, 4000).astype(float)})
    # (the label falls with the wider window once the recent one is known: a free fit
    # gives it a negative weight)
    logit = 1.2 * recent - 0.9 * X["job_engagements_30d"] - 2.0
    y = (rng.uniform(size=4000) < 1 / (1 + np.exp(-logit))).astype(int)
    assert CATALOG.increasing(X.columns) == [1, 1, 0]
    from sklearn.linear_model import LogisticRegression

    assert LogisticRegression().fit(np.log1p(X), y).coef_[0][1] < 0, "a free fit goes negative"
    # when fitting both models on it
    baseline = fit_baseline(X, y)
    trees = fit_lightgbm(X[:3000], y[:3000], X[3000:], y[3000:],
                         LightGBMParams(min_child_samples=20))
    # then the baseline keeps a non-negative weight on both, and neither score ever falls as
    # the wider window grows, all else equal
    assert (baseline.steps[-1][1].coef_[0][:2] >= 0).all(), baseline.steps[-1][1].coef_
    grid = X.iloc[:200].copy()
    for model in (baseline, trees):
        before = model.predict_proba(grid)[:, 1]
        grid_more = grid.assign(job_engagements_30d=grid["job_engagements_30d"] + 5)
        assert np.all(model.predict_proba(grid_more)[:, 1] >= before - 1e-12)
