"""The feature build job: the home's warehouse, or its shards when it is sharded."""

from __future__ import annotations

from core.engine import ShardRunner, given_or_configured, run_here
from features.build import FeatureBuildResult, StepProgress, build_features
from features.settings import FeatureSettings
from features.sharded import build_on_shards
from warehouse.shards import read_layout


def build(settings: FeatureSettings, progress: StepProgress | None = None,
          shard_runner: ShardRunner | None = None) -> FeatureBuildResult:
    """The features of the settings' (resolved) as-of date, on one machine or on every shard (by
    `shard_runner` when given, else on the Dask cluster $NORRUT_DASK_SCHEDULER names, else
    here)."""
    if settings.as_of is None:
        raise ValueError("resolve the as-of date first (warehouse.as_of.resolve_as_of)")
    warehouse_path = settings.norrut_home().warehouse_path
    layout = read_layout(warehouse_path)
    if layout is None:
        return build_features(warehouse_path, settings.as_of, settings, progress)
    with given_or_configured(shard_runner) as runner:
        return build_on_shards(warehouse_path, layout, settings.as_of, settings,
                               runner or run_here)
