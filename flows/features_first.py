"""A step of the scoring flows: build the as-of date's features first when none were built for
it, so `norrut train` then `norrut score` works without a `norrut features build` between."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from prefect import get_run_logger, task

from core.home import NorrutHome
from features.settings import FeatureSettings
from flows.build_features import build_features_task
from flows.common import retry_only_io_errors

if TYPE_CHECKING:
    from features.build import FeatureBuildResult


@task(name="has-features", retries=2, retry_delay_seconds=2,
      retry_condition_fn=retry_only_io_errors)
def has_features_task(home: NorrutHome, as_of: date) -> bool:
    # Reads the warehouse file only, hence the retries on I/O errors.
    from features.build import has_features

    return has_features(home.warehouse_path, as_of)


def features_built_first(home: NorrutHome, as_of: date,
                         lock_wait_seconds: float) -> FeatureBuildResult | None:
    """Build the features of `as_of` when none were built for it; None when they were. The
    caller holds the warehouse."""
    if has_features_task(home, as_of):
        return None
    get_run_logger().info("no features built for %s yet: building them first", as_of.isoformat())
    return build_features_task(FeatureSettings(home=str(home.root),
                                               lock_wait_seconds=lock_wait_seconds, as_of=as_of))
