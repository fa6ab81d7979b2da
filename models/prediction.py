"""Fast prediction with the models training produces: the probabilities of `predict_proba`,
computed straight from a float32 feature matrix.

A PropensityModel (what training registers) gives its parts directly: its response and each
calibrator. The rest of this module serves models logged with the sklearn flavour before.

For an LGBMClassifier or a LogOddsBlend of it with the logistic baseline, bare or inside a
binary CalibratedClassifierCV with sigmoid or isotonic calibration, the matrix goes to the
LightGBM booster and the blend's folded logistic model (FoldedLogistic) with no pandas, no
sklearn input validation and no (n, 2) probability frame; each calibrator then maps its
response in one vectorised call. Everything read here is public: the fitted attributes
`calibrated_classifiers_` (each pair's `estimator` and `calibrators`), `booster_`, `classes_`,
the calibrators' own `predict`, and the blend's own methods. Any other model takes its
`predict_proba`.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from models.estimators import LogOddsBlend
from models.propensity import PropensityModel

# What a fast-path model computes from the float32 matrix with a number of threads: the
# probability of the positive class, or the response its calibrator reads.
Response = Callable[[np.ndarray, int], np.ndarray]


@dataclass(frozen=True)
class CalibratedResponse:
    """One calibrated classifier of a model: the response it computes from the matrix and the
    fitted calibrator that maps the response to the positive-class probability (None when the
    response is that probability already)."""

    response: Response
    calibrator: object | None = None

    def probability(self, matrix: np.ndarray, threads: int) -> np.ndarray:
        response = self.response(matrix, threads)
        if self.calibrator is None:
            return response
        # sklearn's own calibrator (Platt's sigmoid or isotonic regression), so the numbers are
        # the ones predict_proba computes from the same response.
        return self.calibrator.predict(response)


@dataclass(frozen=True)
class Scorer:
    """Scores rows of a feature matrix with a loaded model. With `parts` (the fast path) their
    probabilities average to the model's positive-class probability, as CalibratedClassifierCV
    averages its calibrated classifiers; without them the model's predict_proba is taken."""

    model: object
    parts: tuple[CalibratedResponse, ...] = ()

    @property
    def is_fast(self) -> bool:
        return bool(self.parts)

    def scores(self, features: np.ndarray, threads: int | None = None) -> np.ndarray:
        """Calibrated probabilities for a C-ordered float32 feature matrix, as float64 in 0..1,
        predicted with `threads` threads (default: every core)."""
        threads = threads or os.cpu_count() or 1
        _set_threads(self.model, threads)
        if self.parts:
            matrix = np.ascontiguousarray(features, dtype=np.float32)
            total = self.parts[0].probability(matrix, threads)
            for part in self.parts[1:]:
                total = total + part.probability(matrix, threads)
            probabilities = total / len(self.parts)
        else:
            with warnings.catch_warnings():
                # Fitted on a named frame, predicting on the same columns as an array: fine.
                warnings.filterwarnings("ignore", message="X does not have valid feature names")
                probabilities = np.asarray(self.model.predict_proba(features))[:, 1]
        return np.clip(probabilities.astype(np.float64, copy=False), 0.0, 1.0)


def scorer_for(model: object) -> Scorer:
    """The scorer of a loaded model: on the fast path when the model is one it reproduces
    exactly, else through the model's predict_proba. Both give the same numbers."""
    return Scorer(model, _calibrated_responses(model))


def predict_scores(model: object, features: np.ndarray, threads: int | None = None) -> np.ndarray:
    """Calibrated probabilities of `model` for a C-ordered float32 feature matrix (scorer_for)."""
    return scorer_for(model).scores(features, threads)


def _calibrated_responses(model: object) -> tuple[CalibratedResponse, ...]:
    """The parts whose probabilities average to the model's positive-class probability, or ()
    when the model is not one the fast path reproduces exactly."""
    if isinstance(model, PropensityModel):
        return tuple(CalibratedResponse(model.response, calibrator)
                     for calibrator in model.calibrators)
    bare = _response(model, calibrated=False)
    if bare is not None:
        return (CalibratedResponse(bare),)
    from sklearn.calibration import CalibratedClassifierCV

    if (not isinstance(model, CalibratedClassifierCV) or model.method not in ("sigmoid", "isotonic")
            or len(getattr(model, "classes_", ())) != 2):
        return ()
    parts = []
    for calibrated in model.calibrated_classifiers_:
        inner = calibrated.estimator
        # sklearn calibrates decision_function (LightGBM's raw score, the blend's log-odds)
        # when the estimator has one, else the positive-class probability.
        response = _response(getattr(inner, "estimator", inner),
                             calibrated=hasattr(inner, "decision_function"))
        calibrators = calibrated.calibrators
        # A binary model has one calibrator, for the positive class, in the model's class order.
        if (response is None or len(calibrators) != 1
                or not callable(getattr(calibrators[0], "predict", None))
                or list(getattr(inner, "classes_", ())) != list(model.classes_)):
            return ()
        parts.append(CalibratedResponse(response, calibrators[0]))
    return tuple(parts)


def _response(estimator: object, calibrated: bool) -> Response | None:
    """The estimator's log-odds (what its calibrator reads) when `calibrated`, else its
    positive-class probability, computed straight from the array; None for an estimator the
    fast path does not know."""
    if isinstance(estimator, LogOddsBlend):
        if _lightgbm_booster(estimator.lightgbm_model) is None:
            return None
        if calibrated:
            return estimator.decision_function
        return lambda matrix, threads: estimator.positive_probability(
            estimator.decision_function(matrix, threads))
    booster = _lightgbm_booster(estimator)
    if booster is None:
        return None
    # Booster.predict with no num_iteration uses the best iteration, as predict_proba does.
    return lambda matrix, threads: booster.predict(matrix, raw_score=calibrated,
                                                   num_threads=threads)


def _lightgbm_booster(estimator: object) -> object | None:
    """The fitted booster of a binary LGBMClassifier (which predicts its best iteration). By
    class name, so a model without LightGBM does not import it."""
    if type(estimator).__name__ != "LGBMClassifier" or getattr(estimator, "n_classes_", 0) != 2:
        return None
    return getattr(estimator, "booster_", None)


def _set_threads(model: object, threads: int) -> None:
    """Every estimator inside the model (calibration wrappers included) predicts with `threads`."""
    pending, seen = [model], set()
    while pending:
        estimator = pending.pop()
        if estimator is None or id(estimator) in seen:
            continue
        seen.add(id(estimator))
        if hasattr(estimator, "get_params") and "n_jobs" in estimator.get_params(deep=False):
            estimator.set_params(n_jobs=threads)
        pending.append(getattr(estimator, "estimator", None))
        pending.extend(getattr(estimator, "calibrated_classifiers_", None) or [])


# Where a booster may sit inside a model: sklearn wrappers and calibration (`estimator`,
# `calibrated_classifiers_`, `booster_`), the blend (`lightgbm_model`), Pipeline steps, and an
# MLflow pyfunc (its implementation, python model or native LightGBM model).
_BOOSTER_HOLDERS = ("booster_", "estimator", "calibrated_classifiers_", "lightgbm_model",
                    "steps", "_model_impl", "python_model", "lgb_model", "model", "booster")


def booster_contributions(model: object, frame) -> tuple[list[str], np.ndarray]:
    """LightGBM's exact SHAP contributions (`pred_contrib`) of each row of `frame` (a polars
    or pandas frame holding the model's feature columns), in log-odds: the booster's feature
    names and an (n rows, n features) array, the bias column left out. Reads whatever
    LightGBM boosters the model holds, however it is wrapped (calibrated, blended, a pyfunc
    around a native booster), averaging them when there are several (calibration folds);
    LookupError when it holds none."""
    boosters = _boosters_in(model)
    if not boosters:
        raise LookupError(f"no LightGBM booster found in the model ({type(model).__name__})")
    names = [str(name) for name in boosters[0].feature_name()]
    if any([str(n) for n in booster.feature_name()] != names for booster in boosters[1:]):
        raise ValueError("the model's boosters read different features")
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise ValueError(f"the frame lacks the model's features {missing}")
    matrix = np.ascontiguousarray(np.column_stack(
        [np.asarray(frame[name], dtype=np.float64) for name in names]) if names else
        np.empty((len(frame), 0)))
    total = np.zeros((len(matrix), len(names)))
    for booster in boosters:
        total += np.asarray(booster.predict(matrix, pred_contrib=True))[:, :len(names)]
    return names, total / len(boosters)


def _boosters_in(model: object) -> list[object]:
    """Every distinct LightGBM Booster reachable from the model, in the order first met."""
    found, pending, seen = [], [model], set()
    while pending:
        item = pending.pop(0)
        if item is None or id(item) in seen or isinstance(item, str | bytes | int | float):
            continue
        seen.add(id(item))
        if type(item).__name__ == "Booster" and callable(getattr(item, "feature_name", None)):
            found.append(item)
            continue
        if isinstance(item, list | tuple):
            pending.extend(item)
            continue
        unwrap = getattr(item, "unwrap_python_model", None)
        # A pyfunc without a python model raises here, an unfitted wrapper on its fitted
        # attributes: neither holds a booster.
        if callable(unwrap):
            with contextlib.suppress(Exception):
                pending.append(unwrap())
        for name in _BOOSTER_HOLDERS:
            with contextlib.suppress(Exception):
                pending.append(getattr(item, name, None))
    return found
