"""The propensity model (LightGBM), its logistic-regression baseline and probability calibration."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from features.catalog import CATALOG
from models.settings import LightGBMParams


def fit_lightgbm(X_train, y_train, X_valid, y_valid, params: LightGBMParams, seed: int = 0):
    """LightGBM fitted with early stopping on the out-of-time validation snapshot; features the
    catalog declares increasing get LightGBM's monotone constraint."""
    import lightgbm as lgb

    model = lgb.LGBMClassifier(**lightgbm_options(params, seed, getattr(X_train, "columns", ())),
                               n_jobs=os.cpu_count() or 1)
    model.fit(
        X_train, y_train,
        eval_X=(X_valid,),
        eval_y=(y_valid,),
        eval_metric="binary_logloss",
        callbacks=[lgb.early_stopping(params.early_stopping_rounds, verbose=False)],
    )
    return model


def lightgbm_options(params: LightGBMParams, seed: int, columns) -> dict:
    """The LightGBM classifier's options from `params`, but its threads: the monotone
    constraint on the `columns` the catalog declares increasing. One machine's fit and the
    cluster's (models/distributed.py) share them."""
    increasing = CATALOG.increasing(columns)
    return dict(
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
        verbose=-1,
        **({"monotone_constraints": increasing} if any(increasing) else {}),
    )


def fit_baseline(X_train, y_train):
    """Logistic regression on the same features: missing values imputed, counts log-scaled.
    Features the catalog declares increasing keep a coefficient of at least 0."""
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
    increasing = np.array(CATALOG.increasing(getattr(X_train, "columns", ())), dtype=bool)
    if increasing.any():
        _keep_increasing(model, X_train, np.asarray(y_train, dtype=float), increasing)
    return model


def _keep_increasing(model, X, y: np.ndarray, increasing: np.ndarray) -> None:
    """Refit the pipeline's logistic step with the coefficients of `increasing` columns bound
    to >= 0, minimising the same penalised log loss (C * sum of losses + |w|^2 / 2, the
    intercept free); nothing changes when none came out negative. Nested windows of one count
    are correlated, so a free fit may give one of them a negative weight."""
    from scipy.optimize import minimize
    from scipy.special import expit

    imputer, logistic = model.steps[0][1], model.steps[-1][1]
    bound = increasing[~np.isnan(imputer.statistics_)]  # the columns the imputer kept
    if not (logistic.coef_[0][bound] < 0).any():
        return
    Z = model[:-1].transform(X)
    C = logistic.C

    def loss_and_gradient(theta: np.ndarray) -> tuple[float, np.ndarray]:
        weights, intercept = theta[:-1], theta[-1]
        z = Z @ weights + intercept
        loss = C * float(np.sum(np.logaddexp(0.0, z) - y * z)) + 0.5 * float(weights @ weights)
        residual = C * (expit(z) - y)
        return loss, np.append(Z.T @ residual + weights, residual.sum())

    start = np.append(np.where(bound, np.maximum(logistic.coef_[0], 0.0), logistic.coef_[0]),
                      logistic.intercept_[0])
    bounds = [(0.0, None) if is_bound else (None, None) for is_bound in bound] + [(None, None)]
    fitted = minimize(loss_and_gradient, start, jac=True, method="L-BFGS-B", bounds=bounds)
    logistic.coef_ = fitted.x[None, :-1].copy()
    logistic.intercept_ = fitted.x[-1:].copy()


def _signed_log1p(values):
    return np.sign(values) * np.log1p(np.abs(values))


_BLEND_CHUNK_ROWS = 200_000
# Rows the folded logistic model transforms at a time: its float64 scratch block
# (1,024 x 167 features = 1.3 MiB) stays in cache; 4,096 to 32,768 rows ran 1.25-1.8x slower
# on the 2-core build machine.
_LINEAR_BLOCK_ROWS = 1024


@dataclass(frozen=True)
class FoldedLogistic:
    """fit_baseline's pipeline folded into one dot product: median imputation, signed log1p,
    then the standardised coefficients. log-odds = signed_log1p(x) @ weights + constant, where a
    missing value contributes its column's imputed term instead. Columns the imputer dropped
    (missing throughout training) get weight 0."""

    weights: np.ndarray  # per input column, float64
    imputed_terms: np.ndarray  # weights * signed_log1p(median): what a missing value adds
    constant: float

    @classmethod
    def of(cls, baseline) -> FoldedLogistic:
        imputer, _, scaler, logistic = (step for _, step in baseline.steps)
        kept = ~np.isnan(imputer.statistics_)
        medians = np.where(kept, imputer.statistics_, 0.0)
        scaled = logistic.coef_[0] / scaler.scale_
        weights = np.zeros(len(kept))
        weights[kept] = scaled
        constant = logistic.intercept_[0] - float(scaler.mean_ @ scaled)
        return cls(weights, weights * _signed_log1p(medians), constant)

    def log_odds(self, X, threads: int = 1) -> np.ndarray:
        """The log-odds of every row of X (float32 or float64), in float64: float32 logarithms
        moved them by up to 3e-7. Blocks of rows are split across `threads` (numpy releases the
        GIL), with BLAS kept to one thread per block so the threads do not oversubscribe."""
        from concurrent.futures import ThreadPoolExecutor

        matrix = np.asarray(X)
        if matrix.dtype not in (np.float32, np.float64):
            matrix = matrix.astype(np.float64)
        out = np.empty(len(matrix))
        starts = range(0, len(matrix), _LINEAR_BLOCK_ROWS)
        workers = max(1, min(threads, len(starts)))

        def transform_every_nth_block(first: int) -> None:
            scratch = np.empty((_LINEAR_BLOCK_ROWS, matrix.shape[1]))
            for start in starts[first::workers]:
                stop = start + _LINEAR_BLOCK_ROWS
                self._block_log_odds(matrix[start:stop], out[start:stop], scratch)

        with _blas_threads().limit(limits=1, user_api="blas"):
            if workers == 1:
                transform_every_nth_block(0)
            else:
                with ThreadPoolExecutor(workers) as pool:
                    list(pool.map(transform_every_nth_block, range(workers)))
        return out

    def _block_log_odds(self, rows: np.ndarray, out: np.ndarray, scratch: np.ndarray) -> None:
        values = scratch[:len(rows)]
        has_negatives = bool((rows < 0).any())
        if has_negatives:
            np.abs(rows, out=values, dtype=np.float64)
            np.log1p(values, out=values)
        else:  # counts and durations: log1p(x) is the signed log1p already
            np.log1p(rows, out=values, dtype=np.float64)
        np.fmax(values, 0.0, out=values)  # missing values (NaN) become 0 here ...
        if has_negatives:
            np.copysign(values, rows, out=values)
        values *= self.weights
        missing = np.isnan(rows)
        if missing.any():  # ... and their imputed terms here
            np.copyto(values, self.imputed_terms, where=missing)
        # Each row's terms summed along the row (numpy's pairwise sum), not by a BLAS
        # matrix-vector product: BLAS kernels add a row's terms in an order that depends on the
        # row's place in the block, so a person's score moved in the last bit with the number of
        # rows scored together (one machine against a shard).
        np.sum(values, axis=1, out=out)
        out += self.constant


@functools.cache
def _blas_threads():
    """The BLAS thread pools numpy loaded, found once: threadpool_limits would look them up
    on every call (3-12 ms, as long as scoring 20,000 persons' linear part)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def linear_log_odds(baseline, X) -> np.ndarray:
    """fit_baseline's log-odds (its pipeline's decision_function) through FoldedLogistic."""
    return FoldedLogistic.of(baseline).log_odds(X)


def blended_log_odds(booster, lightgbm_weight: float, linear: FoldedLogistic | None,
                     matrix: np.ndarray, threads: int | None = None) -> np.ndarray:
    """w * LightGBM's raw score + (1 - w) * the folded logistic model's log-odds, in chunks of
    rows so memory stays flat (LightGBM alone without a linear part). Both read the array
    directly: the booster without the sklearn wrapper's checks (with `threads` OpenMP threads,
    else its own setting), the logistic model as one folded dot product (several times faster
    than its pipeline) split across `threads` threads (default: every core)."""
    linear_threads = threads or os.cpu_count() or 1
    booster_threads = {} if threads is None else {"num_threads": threads}
    log_odds = np.empty(len(matrix))
    for start in range(0, len(matrix), _BLEND_CHUNK_ROWS):
        rows = matrix[start:start + _BLEND_CHUNK_ROWS]
        blended = log_odds[start:start + len(rows)]
        blended[:] = booster.predict(rows, raw_score=True, **booster_threads)
        if linear is None:
            continue
        blended *= lightgbm_weight
        part = linear.log_odds(rows, linear_threads)
        part *= 1.0 - lightgbm_weight
        blended += part
    return log_odds


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

    def decision_function(self, X, threads: int | None = None) -> np.ndarray:
        """The blended log-odds of the positive class (blended_log_odds). The scoring step
        calls this too."""
        matrix = X.to_numpy() if hasattr(X, "to_numpy") else np.asarray(X)
        return blended_log_odds(self.lightgbm_model.booster_, self.lightgbm_weight,
                                FoldedLogistic.of(self.linear_model), matrix, threads)

    def predict_proba(self, X) -> np.ndarray:
        positive = self.positive_probability(self.decision_function(X))
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X) -> np.ndarray:
        return self.classes_[(self.decision_function(X) > 0).astype(int)]

    @staticmethod
    def positive_probability(log_odds: np.ndarray) -> np.ndarray:
        """The uncalibrated probability of the positive class from the blended log-odds."""
        return 1.0 / (1.0 + np.exp(-log_odds))


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
