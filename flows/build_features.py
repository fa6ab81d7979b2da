"""Flow: build the point-in-time interest features for one as-of date."""

from __future__ import annotations

from prefect import flow

from features.settings import FeatureSettings
from flows.cluster import EngineTaskRunner
from flows.common import FlowRun, run_name_with_date
from flows.jobs import build_features_job


@flow(name="build-features", flow_run_name=lambda: run_name_with_date("build-features"),
      log_prints=True,
      task_runner=EngineTaskRunner())
def build_features(settings: FeatureSettings = FeatureSettings()):
    """Materialise features.person_features for one as-of date (rows for that date replaced)."""
    return build_features_job(FlowRun(), settings)
