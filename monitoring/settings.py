"""The settings of the monitoring stage's job: monitor."""

from __future__ import annotations

from pydantic import Field

from core.settings import JobSettings
from models.settings import DEFAULT_MODEL_NAME


class MonitorSettings(JobSettings):
    """What the monitor job measures and when it raises an alarm."""

    model_name: str = Field(
        default=DEFAULT_MODEL_NAME, description="Registered model whose scoring runs are watched.")
    tracking_uri: str | None = Field(
        default=None,
        description="MLflow tracking URI; empty means the SQLite store under the home.")
    psi_threshold: float = Field(
        default=0.2, gt=0,
        description="Alarm when a feature's or the score's population stability index against "
        "the champion's training snapshot is above this.")
    max_auc_drop: float = Field(
        default=0.03, ge=0,
        description="Alarm when a backtest's AUC falls more than this below the model's test AUC.")
    max_calibration_error: float = Field(
        default=0.02, gt=0,
        description="Alarm when a backtest's expected calibration error is above this.")
    alarm_on_whole_history_features: bool = Field(
        default=False,
        description="Also alarm on the features counted over a person's whole history (all "
        "events before the as-of date, days since the first event): they grow as the "
        "warehouse's history does, so they drift by construction. Their index is always shown.")
    within_days: int = Field(
        default=90, ge=0,
        description="Measure the scoring runs at most this many days older than the newest; "
        "older runs keep the rows measured before.")
    psi_bins: int = Field(
        default=10, ge=2, le=50,
        description="Bins of the stability index: quantiles of the training snapshot.")
