"""The propensity model (LightGBM), its logistic-regression baseline and probability calibration."""

from __future__ import annotations

import os

import numpy as np
from pydantic import BaseModel, ConfigDict


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
