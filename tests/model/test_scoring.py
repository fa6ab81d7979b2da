"""Scoring: every eligible person once, with the champion, ranks and deciles that agree with scores."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest
from activation_fixtures import (
    AS_OF,
    MODEL_NAME,
    ChampionStore,
    build_warehouse,
    make_population,
    scored_warehouse,
    shared_champion_store,
)

from activation.scoring import NoFeaturesError, feature_matrix, score_persons
from models.prediction import predict_scores, scorer_for
from models.registry import NoChampionError
from warehouse.checks import check_grain
from warehouse.db import open_warehouse
from warehouse.sql_files import all_specs


@pytest.fixture(scope="session")
def champion_store(tmp_path_factory) -> ChampionStore:
    return shared_champion_store(tmp_path_factory)


def test_scores_every_eligible_person_once_with_the_champions_identity(tmp_path, champion_store):
    # given 300 persons, 4 of whom withdrew consent and 3 of whom opted out
    population = make_population(300)
    maids = population.ids("maid")
    warehouse_path = tmp_path / "warehouse.duckdb"
    build_warehouse(warehouse_path, population, withdrawn=maids[:4], opted_out=maids[4:7])
    # when scoring with the champion
    result = score_persons(warehouse_path, AS_OF, champion_store.tracking_uri, MODEL_NAME)
    # then everyone else is scored once, with model name, version, run id and date stored
    assert result.persons_scored == 293
    assert (result.model_version, result.model_run_id) == (champion_store.version,
                                                           champion_store.run_id)
    with open_warehouse(warehouse_path, read_only=True) as con:
        stored = con.execute("select * from marts.person_scores").pl()
        run = con.execute("select * from marts.scores_runs").pl()
    assert stored.height == 293 and stored["person_id"].n_unique() == 293
    assert not set(maids[:7]) & set(stored["person_id"]), "ineligible persons were scored"
    assert set(stored["model_name"]) == {MODEL_NAME}
    assert set(stored["model_version"]) == {champion_store.version}
    assert set(stored["model_run_id"]) == {champion_store.run_id}
    assert set(stored["as_of_date"]) == {AS_OF}
    assert stored["score"].is_between(0, 1).all()
    assert run.height == 1 and run["persons_scored"][0] == 293
    assert '"roc_auc"' in run["test_metrics"][0], "the champion's test metrics are kept"


def test_ranks_and_deciles_agree_with_scores_in_the_generic_csv(tmp_path, champion_store):
    # given a scored warehouse
    warehouse_path, _ = scored_warehouse(tmp_path, champion_store, n_persons=250)
    out = tmp_path / "out" / "scores.csv"
    # when scoring again with --out
    result = score_persons(warehouse_path, AS_OF, champion_store.tracking_uri, MODEL_NAME, out)
    # then the CSV has the contract's header, rank 1 is the top score and deciles are tenths
    assert out.read_text().splitlines()[0] == "person_id,id_type,score,rank,decile"
    ranked = pl.read_csv(out)
    assert ranked.height == result.persons_scored
    assert ranked["rank"].to_list() == list(range(1, ranked.height + 1))
    assert (ranked["score"].diff().drop_nulls() <= 0).all(), "scores fall as rank grows"
    assert (ranked["decile"].diff().drop_nulls() >= 0).all(), "deciles never go back up"
    sizes = ranked.group_by("decile").len()["len"]
    assert sorted(ranked["decile"].unique().to_list()) == list(range(1, 11))
    assert sizes.max() - sizes.min() <= 1, "each decile is a tenth"
    assert ranked["decile"][0] == 1 and ranked["decile"][-1] == 10


def test_scoring_the_same_date_again_replaces_its_scores(tmp_path, champion_store):
    # given a warehouse scored once
    warehouse_path, _ = scored_warehouse(tmp_path, champion_store, n_persons=120)
    # when the same date is scored again
    score_persons(warehouse_path, AS_OF, champion_store.tracking_uri, MODEL_NAME)
    # then nothing is doubled
    with open_warehouse(warehouse_path, read_only=True) as con:
        rows, persons = con.execute(
            "select count(*), count(distinct person_id) from marts.person_scores").fetchone()
        runs = con.execute("select count(*) from marts.scores_runs").fetchone()[0]
    assert rows == persons == 120
    assert runs == 1


def test_missing_champion_or_features_give_clear_errors(tmp_path, champion_store):
    # given a warehouse with features for AS_OF only, and an empty MLflow store
    warehouse_path = tmp_path / "warehouse.duckdb"
    build_warehouse(warehouse_path, make_population(20))
    empty_store = f"sqlite:///{tmp_path / 'empty.db'}"
    # when scoring without a champion, then the error says so
    with pytest.raises(NoChampionError):
        score_persons(warehouse_path, AS_OF, empty_store, MODEL_NAME)
    # when scoring a date without features, then the error names the date
    with pytest.raises(NoFeaturesError, match="2026-10-01"):
        score_persons(warehouse_path, AS_OF.replace(month=10), champion_store.tracking_uri,
                      MODEL_NAME)


def test_predictions_equal_the_bare_booster_on_float32_input():
    # given a LightGBM model and a float32 matrix
    import lightgbm

    rng = np.random.default_rng(1)
    features = rng.random((500, 6)).astype(np.float32)
    label = (features[:, 0] + rng.random(500) * 0.5 > 0.7).astype(int)
    model = lightgbm.LGBMClassifier(n_estimators=20, verbose=-1).fit(features, label)
    # when predicting through the scoring path
    scores = predict_scores(model, features, threads=2)
    # then the probabilities are the booster's own
    np.testing.assert_allclose(scores, model.booster_.predict(features), rtol=1e-6)
    assert model.get_params()["n_jobs"] == 2, "LightGBM threads are set for scoring"


@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
@pytest.mark.parametrize("frozen", [True, False])
def test_calibrated_predictions_equal_sklearn_predict_proba(method, frozen):
    # given a LightGBM model stopped early on validation data, calibrated as training does
    # (one frozen model) or as a cross-validated ensemble, fitted on a named frame
    import lightgbm
    import pandas as pd
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator

    rng = np.random.default_rng(2)
    features = rng.random((3000, 8)).astype(np.float32)
    features[rng.random(features.shape) < 0.1] = np.nan
    features[rng.random(features.shape) < 0.3] = 0.0
    label = (np.nan_to_num(features[:, 0]) + rng.random(3000) * 0.8 > 0.9).astype(int)
    frame = pd.DataFrame(features, columns=[f"f{i}" for i in range(8)])
    model = lightgbm.LGBMClassifier(n_estimators=300, learning_rate=0.2, verbose=-1).fit(
        frame[:2000], label[:2000], eval_X=(frame[2000:],), eval_y=(label[2000:],),
        callbacks=[lightgbm.early_stopping(5, verbose=False)])
    assert model.best_iteration_ < 300, "early stopping ended before the last tree"
    calibrated = (CalibratedClassifierCV(FrozenEstimator(model), method=method) if frozen else
                  CalibratedClassifierCV(lightgbm.LGBMClassifier(n_estimators=20, verbose=-1),
                                         method=method, cv=3))
    calibrated.fit(frame[2000:], label[2000:])
    expected = calibrated.predict_proba(frame)[:, 1]
    # when scoring through the fast path (sklearn's predict_proba would fail if taken)
    assert scorer_for(calibrated).is_fast, "the fast path knows the calibrated LightGBM"
    calibrated.predict_proba = lambda _: pytest.fail("took predict_proba")
    scores = predict_scores(calibrated, features, threads=2)
    # then the probabilities are sklearn's own, to the last bits
    np.testing.assert_allclose(scores, expected, rtol=0, atol=1e-12)
    assert np.ptp(scores) > 0.05, "scores that barely vary would prove little"


@pytest.mark.parametrize("calibrated", [False, True])
def test_a_model_the_fast_path_does_not_know_scores_through_predict_proba(calibrated):
    # given a logistic regression, bare or calibrated: no LightGBM part for the fast path
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(6)
    features = rng.normal(size=(600, 3)).astype(np.float32)
    label = (features[:, 0] + rng.normal(size=600) > 0).astype(int)
    model = (CalibratedClassifierCV(LogisticRegression(), method="sigmoid", cv=3) if calibrated
             else LogisticRegression())
    model.fit(features, label)
    # when asking models for its scorer
    scorer = scorer_for(model)
    # then it takes the model's own predict_proba, and gives its numbers
    assert not scorer.is_fast
    np.testing.assert_array_equal(scorer.scores(features, threads=1),
                                  model.predict_proba(features)[:, 1])


def test_the_scoring_step_leaves_the_models_internals_to_models():
    # given the source of the scoring step and of models' fast prediction
    import ast
    import inspect

    import activation.scoring
    import models.prediction

    def imported(module) -> list[tuple[str, str]]:
        tree = ast.parse(inspect.getsource(module))
        return [(node.module or "", alias.name) for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) for alias in node.names]

    # then scoring imports neither scikit-learn nor the estimators, only models' scorer
    scoring_imports = imported(activation.scoring)
    assert not [name for name in scoring_imports
                if name[0].startswith(("sklearn", "models.estimators"))], scoring_imports
    assert ("models.prediction", "scorer_for") in scoring_imports
    # and fast prediction imports no private scikit-learn name
    assert not [name for name in imported(models.prediction)
                if name[0].startswith("sklearn") and name[1].startswith("_")]


def _blend_and_frame(seed: int, rows: int = 3000):
    """A LightGBM model and the logistic baseline fitted on a named float32 frame with missing
    values, a signed column and a column missing throughout training (the imputer drops it),
    blended at weight 0.4; returns the blend, the frame and its float32 array. At scoring time
    the dropped column holds values, some negative, and some missing."""
    import lightgbm
    import pandas as pd

    from models.estimators import LogOddsBlend, fit_baseline

    rng = np.random.default_rng(seed)
    features = rng.exponential(3.0, size=(rows, 7)).astype(np.float32)
    features[rng.random(features.shape) < 0.3] = 0.0
    features[rng.random(features.shape) < 0.1] = np.nan
    features[:, 5] = rng.normal(size=rows)  # signed, so the signed log1p's sign matters
    features[rows // 2:, 5] = np.abs(features[rows // 2:, 5])  # blocks with and without
    features[:, 6] = np.where(rng.random(rows) < 0.5, np.nan, rng.normal(size=rows) * 5)
    logit = 0.6 * np.log1p(np.nan_to_num(features[:, 0])) + 0.5 * features[:, 5] - 2.0
    label = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame(features, columns=[f"f{i}" for i in range(7)])
    training = frame[:2000].copy()
    training["f6"] = np.nan  # missing throughout training: the imputer drops it
    trees = lightgbm.LGBMClassifier(n_estimators=40, num_leaves=7, verbose=-1).fit(
        training, label[:2000])
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Skipping features without any observed")
        baseline = fit_baseline(training, label[:2000])
    assert np.isnan(baseline.steps[0][1].statistics_[6]), "the imputer dropped column f6"
    return LogOddsBlend(trees, baseline, 0.4), frame, label, features


def _log_odds_from_the_unfolded_parts(blend, frame) -> np.ndarray:
    """The blend's log-odds as its definition states them, through sklearn's own pipeline
    (in float64: on a float32 frame the pipeline computes in float32, 1e-7 off)."""
    frame = frame.astype(np.float64)
    return (blend.lightgbm_weight * blend.lightgbm_model.predict(frame, raw_score=True)
            + (1 - blend.lightgbm_weight) * blend.linear_model.decision_function(frame))


@pytest.mark.parametrize("method", ["sigmoid", "isotonic", None])
@pytest.mark.parametrize("threads", [1, 2])
def test_blend_predictions_equal_sklearn_predict_proba(method, threads, monkeypatch):
    # given a LogOddsBlend, bare (method None) or calibrated as training does, with small
    # chunks and blocks so that several of each, and partial ones, are scored
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator

    import models.estimators

    monkeypatch.setattr(models.estimators, "_BLEND_CHUNK_ROWS", 1100)
    monkeypatch.setattr(models.estimators, "_LINEAR_BLOCK_ROWS", 96)
    blend, frame, label, features = _blend_and_frame(seed=4)
    model = blend
    if method is not None:
        model = CalibratedClassifierCV(FrozenEstimator(blend), method=method)
        model.fit(frame[2000:], label[2000:])
    expected = model.predict_proba(frame)[:, 1]
    if method is None:
        definition = 1 / (1 + np.exp(-_log_odds_from_the_unfolded_parts(blend, frame)))
    else:
        calibrator = model.calibrated_classifiers_[0].calibrators[0]
        definition = calibrator.predict(_log_odds_from_the_unfolded_parts(blend, frame))
    # when scoring through the fast path (sklearn's predict_proba would fail if taken)
    assert scorer_for(model).is_fast, "the fast path knows the blend"
    monkeypatch.setattr(model, "predict_proba", lambda _: pytest.fail("took predict_proba"))
    scores = predict_scores(model, features, threads=threads)
    # then the probabilities are sklearn's own to the last bits, and those of the blend's
    # definition (LightGBM's raw score and the unfolded logistic pipeline) to rounding
    np.testing.assert_allclose(scores, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(scores, definition, rtol=0, atol=1e-11)
    assert np.ptp(scores) > 0.05, "scores that barely vary would prove little"


def test_blend_log_odds_follow_every_part_of_the_folded_logistic_model():
    # given a blend and rows whose missing values, signs and dropped column all matter
    from models.estimators import FoldedLogistic

    blend, frame, _, features = _blend_and_frame(seed=5)
    folded = FoldedLogistic.of(blend.linear_model)
    # then the folded log-odds equal the pipeline's, in float64 whatever the input dtype
    pipeline = blend.linear_model.decision_function(frame.astype(np.float64))
    np.testing.assert_allclose(folded.log_odds(features, threads=2), pipeline, rtol=0, atol=1e-9)
    np.testing.assert_allclose(folded.log_odds(features.astype(np.float64)), pipeline,
                               rtol=0, atol=1e-9)
    # and the dropped column has no say, while missing values take their imputed terms
    assert folded.weights[6] == 0 and folded.imputed_terms[6] == 0
    assert np.any(np.isnan(features[:, :5])) and np.count_nonzero(folded.imputed_terms[:5])
    assert np.any(features[:, 5] < 0) and folded.weights[5] != 0


def test_feature_matrix_names_missing_columns():
    frame = pl.DataFrame({"a": [1.0, None], "b": [2, 3]})
    matrix = feature_matrix(frame, ["b", "a"])
    assert matrix.dtype == np.float32 and matrix.flags["C_CONTIGUOUS"]
    assert np.isnan(matrix[1, 1]) and matrix[0, 0] == 2.0
    with pytest.raises(ValueError, match="'c'"):
        feature_matrix(frame, ["a", "c"])


def test_grain_and_keys_of_activation_tables_hold_on_a_real_warehouse(tmp_path, champion_store):
    # given a scored and exported warehouse
    from activation.definitions import parse_segments
    from activation.export_run import SegmentsToExport, export_segments

    warehouse_path, _ = scored_warehouse(tmp_path, champion_store, n_persons=300)
    config = parse_segments({"min_audience_size": 10, "segments": [
        {"name": "top-half", "description": "d", "select": {"top_deciles": 5}}]})
    report = export_segments(warehouse_path, tmp_path / "exports", AS_OF,
                             SegmentsToExport(config))
    # and one exported person opting out, whose identifiers wait for the next remove files
    from activation.export_rewrite import remove_persons_from_exports
    from warehouse.optout import apply_optouts

    sent = pl.read_csv(report.folder / "top-half" / "generic.csv", infer_schema=False)
    optouts = tmp_path / "optouts.csv"
    optouts.write_text("person_id,requested_at,kind\n"
                       f"{sent['person_id'][0]},2026-11-01T09:00:00Z,erasure\n")
    run = apply_optouts(warehouse_path, optouts)
    remove_persons_from_exports(warehouse_path, tmp_path / "exports", run.run_id)
    specs = [spec for spec in all_specs() if spec.path.startswith("activation/")]
    assert {spec.name for spec in specs} >= {"marts.person_scores", "marts.scores_runs",
                                             "marts.scores_ranked", "marts.segment_holdouts"}
    with open_warehouse(warehouse_path, read_only=True) as con:
        # then every stated key is unique and never null, and the tables hold rows
        problems = [problem for spec in specs for problem in check_grain(con, spec)]
        counts = {spec.name: con.execute(f"select count(*) from {spec.name}").fetchone()[0]
                  for spec in specs}
        registered = dict(con.execute(
            "select table_name, person_column from meta.person_tables").fetchall())
    assert problems == []
    assert all(counts.values()), f"empty tables prove nothing: {counts}"
    # and erasure reaches every table here that holds person ids
    assert registered.get("marts.person_scores") == "person_id"
    assert registered.get("marts.segment_holdouts") == "person_id"

