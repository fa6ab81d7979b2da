"""Flow: build the point-in-time interest features for one as-of date."""

from __future__ import annotations

from datetime import date

from prefect import flow, task

from flows.common import (
    holding_the_warehouse,
    publish,
    rename_run,
    resolve_as_of,
    run_name_with_date,
)
from flows.reports import features_markdown
from flows.settings import DEFAULT_LOCK_WAIT_SECONDS, BuildFeaturesSettings


@task(name="build-features")
def build_features_task(warehouse_path: str, as_of: date):
    # Deterministic SQL: no retries, a second try would fail the same way.
    from features.build import build_features as build

    return build(warehouse_path, as_of)


@flow(name="build-features", flow_run_name=lambda: run_name_with_date("build-features"),
      log_prints=True)
def build_features(
    home: str | None = None,
    as_of: date | None = None,
    lock_wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS,
):
    """Materialise features.person_features for one as-of date (rows for that date replaced)."""
    settings = BuildFeaturesSettings(home=home, as_of=as_of, lock_wait_seconds=lock_wait_seconds)
    paths = settings.norrut_home().ensure()
    with holding_the_warehouse(paths, settings.lock_wait_seconds):
        resolved = resolve_as_of(settings.as_of, str(paths.warehouse_path))
        rename_run(f"build-features-{resolved.isoformat()}")
        result = build_features_task(str(paths.warehouse_path), resolved)
    publish(features_markdown(result, resolved), key="features-summary",
            description="Features built")
    return result
