"""What a monitor run measured, as the monitor (monitoring/health.py), its MLflow runs
(monitoring/tracking.py) and the portal's health file (monitoring/health_file.py) share it."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel


class DecileOutcome(BaseModel):
    decile: int
    persons: int
    persons_with_intent: int
    mean_score: float
    realised_rate: float


class RunHealth(BaseModel):
    """The health of one scoring run: drift at once, the backtest once matured."""

    as_of: date
    model_name: str
    model_version: str
    model_run_id: str
    horizon_days: int
    matures_on: date
    matured: bool
    persons_scored: int
    reference_as_of: date
    inactive_30d_share: float
    score_psi: float
    feature_psi: dict[str, float]
    training_base_rate: float | None
    test_roc_auc: float | None
    persons: int | None = None
    base_rate: float | None = None
    roc_auc: float | None = None
    pr_auc: float | None = None
    lift_at_10pct: float | None = None
    brier: float | None = None
    ece: float | None = None
    deciles: list[DecileOutcome] = []
    breaches: list[str] = []

    def most_drifted(self, count: int = 5) -> list[tuple[str, float]]:
        """The features with the largest stability index, largest first."""
        return sorted(self.feature_psi.items(), key=lambda item: (-item[1], item[0]))[:count]

    @property
    def label(self) -> str:
        return (f"model {self.model_name} version {self.model_version}, scoring run "
                f"{self.as_of.isoformat()}")


class HealthReport(BaseModel):
    """What one monitor run measured, oldest scoring run first, and the alarms it raised."""

    model_name: str
    measured_at: datetime
    last_event_on: date | None
    psi_threshold: float
    max_auc_drop: float
    max_calibration_error: float
    runs: list[RunHealth]
    alarms: list[str]
    monitoring_runs: dict[str, str] = {}  # model version -> its MLflow monitoring run id

    @property
    def matured_runs(self) -> list[RunHealth]:
        return [run for run in self.runs if run.matured]

    def alarm_message(self) -> str:
        return "model health alarm: " + "; ".join(self.alarms)
