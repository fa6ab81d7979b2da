"""Flow: score everyone with the champion model and store the scores (`norrut score`)."""

from __future__ import annotations

from prefect import flow

from activation.settings import ScoreSettings
from flows.common import holding_the_warehouse, publish, resolve_as_of, run_name_with_date
from flows.features_first import features_built_first
from flows.reports import scoring_markdown
from flows.score_and_export import score_persons_task


@flow(name="score", flow_run_name=lambda: run_name_with_date("score"), log_prints=True)
def score(settings: ScoreSettings = ScoreSettings()):
    """Score every eligible person with the champion; optionally write the ranked list. The
    date's features are built first when none were built for it."""
    paths = settings.norrut_home().ensure()
    with holding_the_warehouse(paths, settings.lock_wait_seconds):
        resolved = resolve_as_of(settings.as_of, paths, "score")
        features = features_built_first(paths, resolved, settings.lock_wait_seconds)
        result = score_persons_task(settings.model_copy(update={"as_of": resolved}))
    publish(scoring_markdown(result, features), key="scoring-summary",
            description="Persons scored, and with which model")
    return result
