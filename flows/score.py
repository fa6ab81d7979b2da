"""Flow: score everyone with the champion model and store the scores (`norrut score`)."""

from __future__ import annotations

from datetime import date

from prefect import flow

from flows.common import (
    holding_the_warehouse,
    publish,
    rename_run,
    resolve_as_of,
    run_name_with_date,
)
from flows.reports import scoring_markdown
from flows.score_and_export import score_persons_task
from flows.settings import DEFAULT_LOCK_WAIT_SECONDS, DEFAULT_MODEL_NAME, ScoreSettings


@flow(name="score", flow_run_name=lambda: run_name_with_date("score"), log_prints=True)
def score(
    home: str | None = None,
    as_of: date | None = None,
    model_name: str = DEFAULT_MODEL_NAME,
    out: str | None = None,
    lock_wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS,
):
    """Score every eligible person with the champion; optionally write the ranked list."""
    settings = ScoreSettings(home=home, as_of=as_of, model_name=model_name, out=out,
                             lock_wait_seconds=lock_wait_seconds)
    paths = settings.norrut_home().ensure()
    with holding_the_warehouse(paths, settings.lock_wait_seconds):
        resolved = resolve_as_of(settings.as_of, str(paths.warehouse_path))
        rename_run(f"score-{resolved.isoformat()}")
        result = score_persons_task(str(paths.warehouse_path), resolved,
                                    paths.mlflow_tracking_uri, settings.model_name, settings.out)
    publish(scoring_markdown(result), key="scoring-summary",
            description="Persons scored, and with which model")
    return result
