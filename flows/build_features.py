"""Flow: build the point-in-time interest features for one as-of date."""

from __future__ import annotations

from prefect import flow, task

from features.settings import FeatureSettings
from flows.common import holding_the_warehouse, publish, resolve_as_of, run_name_with_date
from flows.reports import features_markdown


@task(name="build-features")
def build_features_task(settings: FeatureSettings):
    # Deterministic SQL: no retries, a second try would fail the same way.
    from features.build import build

    return build(settings)


@flow(name="build-features", flow_run_name=lambda: run_name_with_date("build-features"),
      log_prints=True)
def build_features(settings: FeatureSettings = FeatureSettings()):
    """Materialise features.person_features for one as-of date (rows for that date replaced)."""
    paths = settings.norrut_home().ensure()
    with holding_the_warehouse(paths, settings.lock_wait_seconds):
        resolved = resolve_as_of(settings.as_of, paths, "build-features")
        result = build_features_task(settings.model_copy(update={"as_of": resolved}))
    publish(features_markdown(result, resolved), key="features-summary",
            description="Features built")
    return result
