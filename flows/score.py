"""Flow: score everyone with the champion model and store the scores (`norrut score`)."""

from __future__ import annotations

from prefect import flow

from activation.settings import ScoreSettings
from flows.cluster import EngineTaskRunner
from flows.common import FlowRun, run_name_with_date
from flows.jobs import score_job


@flow(name="score", flow_run_name=lambda: run_name_with_date("score"), log_prints=True,
      task_runner=EngineTaskRunner())
def score(settings: ScoreSettings = ScoreSettings()):
    """Score every eligible person with the champion; optionally write the ranked list. The
    date's features are built first when none were built for it."""
    return score_job(FlowRun(), settings)
