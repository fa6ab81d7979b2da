"""Run a flow from the CLI, so every run, however started, shows up in Prefect.

Without PREFECT_API_URL, Prefect starts a temporary server for the run and records it in
$PREFECT_HOME's database, where a later `prefect server start` shows it. Prefect's anonymous
usage telemetry cannot reach the internet here, so it is switched off unless set.
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel


class FlowRunFailed(RuntimeError):
    """A flow run ended in a failed or crashed state; the message is the run's own error."""


def _prepare_environment() -> None:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def _run(flow_function, settings: BaseModel) -> Any:
    """Call the flow with the settings' fields as its parameters; raise FlowRunFailed on failure."""
    _prepare_environment()
    state = flow_function(**dict(settings), return_state=True)
    if not state.is_completed():
        try:
            state.result()
        except Exception as error:  # the run's own error, already logged by Prefect
            raise FlowRunFailed(f"{type(error).__name__}: {error}") from error
        raise FlowRunFailed(state.message or f"the flow run ended {state.name}")
    return state.result()


def run_ingest(settings):
    """Run the ingest flow; returns the IngestReport."""
    from flows.ingest import ingest

    return _run(ingest, settings)


def run_optout(settings):
    """Run the optout flow; returns the OptoutReport."""
    from flows.optout import optout

    return _run(optout, settings)


def run_build_features(settings):
    """Run the build-features flow; returns the FeatureBuildResult."""
    from flows.build_features import build_features

    return _run(build_features, settings)


def run_train(settings):
    """Run the train flow; returns the TrainResult."""
    from flows.train import train

    return _run(train, settings)


def run_score_and_export(settings):
    """Run the score-and-export flow; returns the ExportRunReport."""
    from flows.score_and_export import score_and_export

    return _run(score_and_export, settings)


def run_pipeline(settings):
    """Run the pipeline flow; returns the PipelineResult."""
    from flows.pipeline import pipeline

    return _run(pipeline, settings)
