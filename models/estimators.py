"""The propensity model (LightGBM), its logistic-regression baseline and probability calibration."""

from __future__ import annotations

import os

import numpy as np
from pydantic import BaseModel, ConfigDict
from sklearn.base import BaseEstimator, ClassifierMixin


class LightGBMParams(BaseModel):
    """Defaults chosen on a 20,000-person simulated world (bench/model.py, bench/results/model.md):
    small trees with many samples per leaf, because the signal is weak and mostly additive.
    Trees x leaves stay small for fast scoring: learning rate 0.06 stops near 70 x 15 trees with
    the same test AUC as 0.03 (near 110 x 15) within noise (bench/results/model.md), and the
    scoring step's cost grows with the number of trees."""

    model_config = ConfigDict(frozen=True)

    learning_rate: float = 0.06
    n_estimators: int = 600
    num_leaves: int = 15
    min_child_samples: int = 200
    subsample: float = 0.8
    subsample_freq: int = 1
    colsample_bytree: float = 0.7
    reg_lambda: float = 1.0
    early_stopping_rounds: int = 40


def fit_lightgbm(X_train, y_train, X_valid, y_valid, params: LightGBMParams, seed: int = 0):
    """LightGBM fitted with early stopping on the out-of-time validation snapshot."""
    import lightgbm as lgb

    model = lgb.LGBMClassifier(
        objective="binary",
        learning_rate=params.learning_rate,
        n_estimators=params.n_estimators,
        num_leaves=params.num_leaves,
        min_child_samples=params.min_child_samples,
        subsample=params.subsample,
        subsample_freq=params.subsample_freq,
        colsample_bytree=params.colsample_bytree,
        reg_lambda=params.reg_lambda,
        random_state=seed,
        n_jobs=os.cpu_count() or 1,
        verbose=-1,
    )
    model.fit(
        X_train, y_train,
        eval_X=(X_valid,),
        eval_y=(y_valid,),
        eval_metric="binary_logloss",
        callbacks=[lgb.early_stopping(params.early_stopping_rounds, verbose=False)],
    )
    return model


def fit_baseline(X_train, y_train):
    """Logistic regression on the same features: missing values imputed, counts log-scaled."""
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    model = make_pipeline(
        SimpleImputer(strategy="median"),
        FunctionTransformer(_signed_log1p, feature_names_out="one-to-one"),
        StandardScaler(),
        LogisticRegression(max_iter=500, C=0.1),
    )
    model.fit(X_train, y_train)
    return model


def _signed_log1p(values):
    return np.sign(values) * np.log1p(np.abs(values))


_BLEND_CHUNK_ROWS = 200_000


def linear_log_odds(baseline, X) -> np.ndarray:
    """fit_baseline's log-odds (its pipeline's decision_function), folded into one dot product:
    median imputation, signed log1p, then the standardised coefficients. Columns the imputer
    dropped (missing throughout training) get weight 0."""
    imputer, _, scaler, logistic = (step for _, step in baseline.steps)
    kept = ~np.isnan(imputer.statistics_)
    medians = np.where(kept, imputer.statistics_, 0.0)
    weights = np.zeros(len(kept))
    weights[kept] = logistic.coef_[0] / scaler.scale_
    constant = logistic.intercept_[0] - float(scaler.mean_ @ (logistic.coef_[0] / scaler.scale_))
    values = np.asarray(X, dtype=np.float64)
    values = np.where(np.isnan(values), medians, values)
    return _signed_log1p(values) @ weights + constant


# Weights of LightGBM's log-odds tried by choose_blend_weight; 1.0 is LightGBM alone.
BLEND_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)


class LogOddsBlend(ClassifierMixin, BaseEstimator):
    """A fitted LightGBM model and a fitted logistic model averaged on the log-odds scale,
    w * LightGBM + (1 - w) * logistic. The trees find interactions and thresholds, the linear
    model the smooth additive trend of the log counts, which trees learn only as coarse steps
    from noisy labels; on simulated worlds their blend ranks better than either
    (bench/results/model.md). Built from fitted parts, so it is fitted when made."""

    def __init__(self, lightgbm_model, linear_model, lightgbm_weight: float):
        self.lightgbm_model = lightgbm_model
        self.linear_model = linear_model
        self.lightgbm_weight = lightgbm_weight

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def fit(self, X, y):
        """Refused: the parts are fitted on their own (fit_lightgbm with early stopping,
        fit_baseline) and the blend only combines them. sklearn requires the method to exist."""
        raise TypeError("LogOddsBlend is built from fitted models; fit its parts instead")

    @property
    def classes_(self) -> np.ndarray:
        return self.lightgbm_model.classes_

    @property
    def n_features_in_(self) -> int:
        return self.lightgbm_model.n_features_in_

    @property
    def feature_names_in_(self) -> np.ndarray:
        # The calibration wrapper copies it; the registry reads the feature order from it.
        return self.lightgbm_model.feature_names_in_

    def decision_function(self, X) -> np.ndarray:
        """The blended log-odds of the positive class, in chunks of rows so memory stays flat.
        Both parts read the array directly: the booster without the sklearn wrapper's checks,
        the logistic model as one folded dot product (linear_log_odds, several times faster than
        its pipeline)."""
        matrix = X.to_numpy() if hasattr(X, "to_numpy") else np.asarray(X)
        booster = self.lightgbm_model.booster_
        log_odds = np.empty(len(matrix))
        for start in range(0, len(matrix), _BLEND_CHUNK_ROWS):
            rows = matrix[start:start + _BLEND_CHUNK_ROWS]
            trees = booster.predict(rows, raw_score=True)
            linear = linear_log_odds(self.linear_model, rows)
            log_odds[start:start + len(rows)] = (self.lightgbm_weight * trees
                                                 + (1.0 - self.lightgbm_weight) * linear)
        return log_odds

    def predict_proba(self, X) -> np.ndarray:
        positive = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X) -> np.ndarray:
        return self.classes_[(self.decision_function(X) > 0).astype(int)]


def choose_blend_weight(lightgbm_model, linear_model, X_held_out, y_held_out,
                        weights: tuple[float, ...] = BLEND_WEIGHTS) -> tuple[float, dict]:
    """The weight of LightGBM's log-odds with the best AUC on held-out data (ties go to the
    larger weight, so LightGBM alone wins unless blending helps); returns it and every AUC."""
    from sklearn.metrics import roc_auc_score

    trees = lightgbm_model.predict(X_held_out, raw_score=True)
    linear = linear_model.decision_function(X_held_out)
    aucs = {weight: float(roc_auc_score(y_held_out, weight * trees + (1 - weight) * linear))
            for weight in weights}
    best = max(aucs.values())
    return max(weight for weight, auc in aucs.items() if auc == best), aucs


def blend(lightgbm_model, linear_model, lightgbm_weight: float):
    """LightGBM alone at weight 1 (keeps scoring on the booster's fast path), else the blend."""
    if lightgbm_weight == 1.0:
        return lightgbm_model
    return LogOddsBlend(lightgbm_model, linear_model, lightgbm_weight)


def calibrate(model, X_held_out, y_held_out):
    """Wrap a fitted model so predict_proba gives calibrated probabilities. Isotonic needs many
    positives to be smooth; with fewer, Platt scaling (sigmoid) is the safer choice."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator

    method = "isotonic" if int(np.sum(y_held_out)) >= 1000 else "sigmoid"
    calibrated = CalibratedClassifierCV(FrozenEstimator(model), method=method)
    calibrated.fit(X_held_out, y_held_out)
    return calibrated, method


def search_lightgbm_params(X_train, y_train, X_valid, y_valid, trials: int,
                           base: LightGBMParams, seed: int = 0) -> tuple[LightGBMParams, float]:
    """Optuna search over the parameters that matter most, scored by validation AUC."""
    import optuna
    from sklearn.metrics import roc_auc_score

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial: optuna.Trial) -> float:
        params = base.model_copy(update={
            "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.2, log=True),
            "num_leaves": trial.suggest_int("num_leaves", 8, 63, log=True),
            "min_child_samples": trial.suggest_int("min_child_samples", 20, 400, log=True),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.3, 1.0),
            "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 10.0, log=True),
        })
        model = fit_lightgbm(X_train, y_train, X_valid, y_valid, params, seed)
        return float(roc_auc_score(y_valid, model.predict_proba(X_valid)[:, 1]))

    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=trials)
    return base.model_copy(update=study.best_params), float(study.best_value)
