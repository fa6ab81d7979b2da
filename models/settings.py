"""The settings of the models stage's jobs: train and promote."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.contract import INTENT_EVENT_TYPES
from core.settings import JobSettings, NameList

DEFAULT_MODEL_NAME = "curious-about-working-here"
DEFAULT_EXPERIMENT = "norrut-propensity"
# A single feature that alone ranks the test labels this well is a leak, not a signal.
MAX_SINGLE_FEATURE_AUC = 0.95


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


class _TrackedModel(JobSettings):
    model_name: str = Field(default=DEFAULT_MODEL_NAME, description="Registered model name.")
    tracking_uri: str | None = Field(
        default=None,
        description="MLflow tracking URI; empty means the SQLite store under the home.")


class TrainSettings(_TrackedModel):
    """Everything a training run depends on; all of it is logged with the run."""

    as_of: date | None = Field(
        default=None,
        description="Scoring date: every snapshot and label window lies before it; empty means "
        "the day after the last event.")
    promote: bool = Field(
        default=True, description="Run the promotion step after registering: the new model "
        "becomes champion when it beats the current one.")
    horizon_days: int = Field(
        default=14, ge=1, le=180,
        description="Label window in days: intent within this many days of a snapshot.")
    intent_types: NameList = Field(
        default=INTENT_EVENT_TYPES,
        description="Intent event types that count as the label.")
    # Six weekly snapshots ranked better than four on a simulated 50,000-person world
    # (bench/results/model.md); snapshots before the first event are dropped (fit_plan_to_data).
    n_training_snapshots: int = Field(
        default=6, ge=1, le=52,
        description="Weekly training snapshots (fewer when the events start later).")
    snapshot_interval_days: int = Field(
        default=7, ge=1, description="Days between training snapshots.")
    min_positives: int = Field(
        default=100, ge=1, description="Fewest positive persons each set must hold.")
    # The command holds every set's rows in memory, with their copies while the model is fitted
    # and evaluated: ~5 KB a row (221 k persons in 4 snapshots: 4.5 GB), and 4 M rows of 2.2 M
    # persons went past this machine's 24 GB (bench/RESULTS.md, issue 13). The bounds keep a
    # uniform sample, so rates and calibration stay unbiased; a test snapshot of 500 k persons
    # at a 3 % base rate gives the AUC to about ±0.0025 (one standard error).
    max_training_rows: int = Field(
        default=1_000_000, ge=100,
        description="Most rows of the training set, shared equally by its snapshots: a sample "
        "fixed by each person and date, the same on one machine and on shards.")
    max_evaluation_rows: int = Field(
        default=500_000, ge=100,
        description="Most rows of the validation and of the test snapshot each (sampled as "
        "the training rows); the promotion step judges the model on the same rows again.")
    optuna_trials: int = Field(
        default=0, ge=0, description="Optuna trials for a parameter search (0 = the defaults).")
    lightgbm: LightGBMParams = LightGBMParams()
    blend_with_baseline: bool = Field(
        default=True, description="Blend LightGBM's log-odds with the logistic baseline's, the "
        "weight chosen on the validation snapshot (LightGBM alone when that is best).")
    distributed_fit: bool = Field(
        default=False,
        description="Fit the LightGBM booster on the Dask cluster (lightgbm.dask) from the "
        "shards' rows staged as Parquet, for a training set too big for this command's "
        "memory; needs NORRUT_DASK_SCHEDULER and a sharded warehouse (docs/scale-out.md).")
    # No early stopping on the cluster (distributed early stopping is known to hang), so a
    # fixed number of rounds: one machine's default parameters stop near 70
    # (LightGBMParams, bench/results/model.md).
    distributed_boosting_rounds: int = Field(
        default=70, ge=1, description="Boosting rounds of a distributed fit (no early stopping).")
    distributed_sample_rows: int = Field(
        default=200_000, ge=1000,
        description="Most training and validation rows a distributed fit brings into this "
        "command's memory each (a random sample, spread over the shards) for the baseline, "
        "the blend, the calibration and the leakage check.")
    max_single_feature_auc: float = MAX_SINGLE_FEATURE_AUC
    experiment_name: str = DEFAULT_EXPERIMENT
    artifact_location: str | None = None
    seed: int = 0

    @model_validator(mode="after")
    def _search_needs_rows_in_memory(self) -> TrainSettings:
        if self.distributed_fit and self.optuna_trials:
            raise ValueError("optuna_trials needs the training rows in memory: a distributed "
                             "fit takes the parameters as given (set optuna_trials to 0)")
        return self


class PromoteSettings(_TrackedModel):
    version: str | None = Field(
        default=None, description="Model version to consider; empty means the newest.")
