"""The registered propensity model in a form that loads without pickle: LightGBM's booster in
its own text format, the logistic part of the blend (FoldedLogistic) and the calibration as
plain numbers in JSON.

Training fits LightGBM, the logistic baseline and a CalibratedClassifierCV as before;
PropensityModel.of reads the fitted numbers out of them and computes the same probabilities
(tests/model/test_models_units.py checks it). MLflow logs it as a pyfunc model from code
(models/mlflow_model.py), so loading it runs no unpickling and MLflow warns of none.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.estimators import FoldedLogistic, LogOddsBlend, blended_log_odds

# The logged pyfunc model's artifact holding these files (models/mlflow_model.py).
MLFLOW_ARTIFACT = "propensity_model"
BOOSTER_FILE = "booster.txt"
PARTS_FILE = "model.json"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Calibrator:
    """One fitted calibrator as numbers: Platt's sigmoid, p = 1 / (1 + exp(a t + b)), or an
    isotonic step function through (x, y), clipped to its ends (what sklearn computes)."""

    method: str  # "sigmoid" or "isotonic"
    a: float = 0.0
    b: float = 0.0
    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()

    @classmethod
    def of(cls, fitted: Any) -> Calibrator:
        """From sklearn's fitted _SigmoidCalibration or IsotonicRegression."""
        if hasattr(fitted, "a_"):
            return cls("sigmoid", a=float(fitted.a_), b=float(fitted.b_))
        if hasattr(fitted, "X_thresholds_") and getattr(fitted, "out_of_bounds", "") == "clip":
            return cls("isotonic", x=tuple(map(float, fitted.X_thresholds_)),
                       y=tuple(map(float, fitted.y_thresholds_)))
        raise TypeError(f"not a calibrator this model can keep as numbers: {type(fitted)}")

    def predict(self, response: np.ndarray) -> np.ndarray:
        response = np.asarray(response, dtype=np.float64)
        if self.method == "sigmoid":
            return 1.0 / (1.0 + np.exp(self.a * response + self.b))
        x, y = np.asarray(self.x), np.asarray(self.y)
        if len(x) == 1:
            return np.full(len(response), y[0])
        return np.interp(np.clip(response, x[0], x[-1]), x, y)


@dataclass(frozen=True)
class PropensityModel:
    """LightGBM's log-odds (weighted, plus the logistic part when blended), mapped to a
    probability by each calibrator and averaged, as CalibratedClassifierCV averages its
    calibrated classifiers. `calibrates` says what the calibrators read: the log-odds, or the
    probability for a model fitted without a decision_function."""

    booster: Any  # lightgbm.Booster
    feature_names: tuple[str, ...]
    lightgbm_weight: float
    linear: FoldedLogistic | None
    calibrators: tuple[Calibrator, ...]
    calibrates: str  # "log_odds" or "probability"

    @classmethod
    def of(cls, calibrated: Any) -> PropensityModel:
        """From a fitted binary CalibratedClassifierCV around a frozen LGBMClassifier or a
        LogOddsBlend of it with the logistic baseline (models.estimators.calibrate)."""
        inner_models, calibrators, reads_log_odds = [], [], []
        for part in calibrated.calibrated_classifiers_:
            if len(part.calibrators) != 1:
                raise TypeError("a binary model has one calibrator per calibrated classifier")
            inner_models.append(getattr(part.estimator, "estimator", part.estimator))
            calibrators.append(Calibrator.of(part.calibrators[0]))
            # sklearn's rule: calibrate decision_function when the estimator has one
            # (LightGBM's raw score, the blend's log-odds), else the probability.
            reads_log_odds.append(hasattr(part.estimator, "decision_function"))
        if any(model is not inner_models[0] for model in inner_models) or len(
                set(reads_log_odds)) != 1:
            raise TypeError("every calibrated classifier must share one fitted model")
        inner = inner_models[0]
        if isinstance(inner, LogOddsBlend):
            lightgbm_model, weight = inner.lightgbm_model, float(inner.lightgbm_weight)
            linear = FoldedLogistic.of(inner.linear_model)
        else:
            lightgbm_model, weight, linear = inner, 1.0, None
        return cls(booster=lightgbm_model.booster_,
                   feature_names=tuple(str(name) for name in lightgbm_model.feature_names_in_),
                   lightgbm_weight=weight, linear=linear, calibrators=tuple(calibrators),
                   calibrates="log_odds" if reads_log_odds[0] else "probability")

    # What the registry and the promotion step read of any loaded model.
    @property
    def feature_names_in_(self) -> np.ndarray:
        return np.array(self.feature_names, dtype=object)

    @property
    def classes_(self) -> np.ndarray:
        return np.array([0, 1])

    def response(self, matrix: np.ndarray, threads: int | None = None) -> np.ndarray:
        """What the calibrators read, from a feature matrix in feature_names order."""
        matrix = matrix.to_numpy() if hasattr(matrix, "to_numpy") else np.asarray(matrix)
        log_odds = blended_log_odds(self.booster, self.lightgbm_weight, self.linear, matrix,
                                    threads)
        if self.calibrates == "log_odds":
            return log_odds
        return LogOddsBlend.positive_probability(log_odds)

    def positive_probability(self, matrix, threads: int | None = None) -> np.ndarray:
        response = self.response(matrix, threads)
        return np.mean([calibrator.predict(response) for calibrator in self.calibrators], axis=0)

    def predict_proba(self, X) -> np.ndarray:
        positive = self.positive_probability(X)
        return np.column_stack([1.0 - positive, positive])

    def save(self, folder: Path) -> Path:
        """Write the booster (LightGBM's text format) and the other parts (JSON) to `folder`."""
        folder.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(str(folder / BOOSTER_FILE))
        linear = None if self.linear is None else {
            "weights": self.linear.weights.tolist(),
            "imputed_terms": self.linear.imputed_terms.tolist(),
            "constant": self.linear.constant,
        }
        parts = {
            "format_version": FORMAT_VERSION,
            "feature_names": list(self.feature_names),
            "lightgbm_weight": self.lightgbm_weight,
            "linear": linear,
            "calibrates": self.calibrates,
            "calibrators": [calibrator.__dict__ for calibrator in self.calibrators],
        }
        (folder / PARTS_FILE).write_text(json.dumps(parts, indent=1), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: Path) -> PropensityModel:
        import lightgbm

        parts = json.loads((Path(folder) / PARTS_FILE).read_text(encoding="utf-8"))
        if parts["format_version"] != FORMAT_VERSION:
            raise ValueError(f"model format {parts['format_version']} is not "
                             f"{FORMAT_VERSION}; train the model again")
        linear = parts["linear"]
        return cls(
            booster=lightgbm.Booster(model_file=str(Path(folder) / BOOSTER_FILE)),
            feature_names=tuple(parts["feature_names"]),
            lightgbm_weight=float(parts["lightgbm_weight"]),
            linear=None if linear is None else FoldedLogistic(
                np.asarray(linear["weights"]), np.asarray(linear["imputed_terms"]),
                float(linear["constant"])),
            calibrators=tuple(Calibrator(**{key: tuple(value) if isinstance(value, list)
                                            else value for key, value in calibrator.items()})
                              for calibrator in parts["calibrators"]),
            calibrates=parts["calibrates"],
        )
