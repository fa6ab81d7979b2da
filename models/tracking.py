"""Where training runs and registered models are kept: MLflow on SQLite under NORRUT_HOME by
default, any tracking URI by setting."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from core.home import NorrutHome

# Set on every training run at its start, so a later training can tell a run whose process died
# (killed: MLflow never hears its end, and the run would stay RUNNING for ever).
PID_TAG = "norrut.pid"
HOST_TAG = "norrut.host"
ABANDONED_TAG = "norrut.failure_reason"
# MLflow 3 opens an experiment of this kind on its runs table, not the GenAI overview.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
CUSTOM_MODEL_DEVELOPMENT = "custom_model_development"
GIT_COMMIT_TAG = "mlflow.source.git.commit"  # MLflow's own tag: the UI shows it with the run
FLOW_RUN_ID_TAG = "norrut.prefect_flow_run_id"
FLOW_RUN_URL_TAG = "norrut.prefect_flow_run_url"


def resolve_tracking(home: NorrutHome, tracking_uri: str | None,
                     artifact_location: str | None) -> tuple[str, str | None]:
    """The tracking URI and, for a new experiment, its artifact location. The default store keeps
    artifacts under the home folder; without an explicit location MLflow would write ./mlruns."""
    if tracking_uri is None:
        home.ensure()
        return home.mlflow_tracking_uri, artifact_location or home.mlflow_artifacts_dir.as_uri()
    return tracking_uri, artifact_location


def use_tracking(tracking_uri: str) -> None:
    """Point MLflow's fluent API (runs, log_model) and its registry at `tracking_uri`."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)


def ensure_experiment(name: str, artifact_location: str | None) -> str:
    """The experiment's id, creating it with `artifact_location` the first time. It is tagged
    as custom model development (also an experiment made before the tag was set), so the UI
    opens on its runs."""
    import mlflow

    experiment = mlflow.get_experiment_by_name(name)
    if experiment is None:
        return mlflow.create_experiment(
            name, artifact_location=artifact_location,
            tags={EXPERIMENT_KIND_TAG: CUSTOM_MODEL_DEVELOPMENT})
    if EXPERIMENT_KIND_TAG not in experiment.tags:
        mlflow.MlflowClient().set_experiment_tag(experiment.experiment_id, EXPERIMENT_KIND_TAG,
                                                 CUSTOM_MODEL_DEVELOPMENT)
    return experiment.experiment_id


def git_commit() -> str | None:
    """The commit of the checkout Norrut runs from; None outside a git checkout or without git."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent,
                              capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and len(commit) == 40 else None


def prefect_flow_run() -> tuple[str | None, str | None]:
    """The id of the Prefect flow run this process works for and its page in the Prefect UI
    (None when neither PREFECT_UI_URL nor PREFECT_API_URL tells where the UI is); (None, None)
    outside a flow run. Prefect is asked only when a flow has loaded it: a command run
    directly never imports it."""
    if "prefect" not in sys.modules:
        return None, None
    from prefect.runtime import flow_run
    from prefect.settings import get_current_settings

    run_id = flow_run.get_id()
    if run_id is None:
        return None, None
    # The environment first (read now), then Prefect's settings (read when Prefect started).
    settings = get_current_settings()
    ui_url = (os.environ.get("PREFECT_UI_URL") or _ui_of(os.environ.get("PREFECT_API_URL"))
              or settings.ui_url or _ui_of(settings.api.url))
    return str(run_id), f"{ui_url.rstrip('/')}/runs/flow-run/{run_id}" if ui_url else None


def _ui_of(api_url: str | None) -> str | None:
    """The Prefect UI served beside an API address (the server serves the UI at its root)."""
    return api_url.rstrip("/").removesuffix("/api") if api_url else None


def run_context_tags() -> dict[str, str]:
    """Where a run comes from: the git commit and the Prefect flow run (with its link), as
    far as they are known."""
    tags = {}
    commit = git_commit()
    if commit:
        tags[GIT_COMMIT_TAG] = commit
    run_id, url = prefect_flow_run()
    if run_id:
        tags[FLOW_RUN_ID_TAG] = run_id
    if url:
        tags[FLOW_RUN_URL_TAG] = url
    return tags


def sqlite_store_exists(tracking_uri: str) -> bool:
    """False for a default store that no training has created yet (nothing to list or load)."""
    if not tracking_uri.startswith("sqlite:///"):
        return True
    return Path(tracking_uri.removeprefix("sqlite:///")).exists()


def owner_tags() -> dict[str, str]:
    """Tags naming the process that runs a training run."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


def fail_abandoned_runs(tracking_uri: str, experiment_name: str) -> list[str]:
    """Mark FAILED, with a reason tag, the experiment's runs still RUNNING whose training
    process on this host is gone; returns their run ids. Runs of another host, or started
    without the owner tags, are left alone: nothing here can tell whether they still run."""
    from mlflow import MlflowClient

    if not sqlite_store_exists(tracking_uri):
        return []  # no store yet, so no run; opening one would create it
    client = MlflowClient(tracking_uri=tracking_uri)
    experiment = client.get_experiment_by_name(experiment_name)
    if experiment is None:
        return []
    abandoned = []
    for run in client.search_runs([experiment.experiment_id],
                                  filter_string="attributes.status = 'RUNNING'"):
        tags = run.data.tags
        if tags.get(HOST_TAG) != socket.gethostname() or not _process_gone(tags.get(PID_TAG)):
            continue
        client.set_tag(run.info.run_id, ABANDONED_TAG,
                       f"its training process (pid {tags[PID_TAG]} on {tags[HOST_TAG]}) ended "
                       f"before the run did; marked failed by the training started "
                       f"{datetime.now(UTC).isoformat(timespec='seconds')}")
        client.set_terminated(run.info.run_id, status="FAILED")
        abandoned.append(run.info.run_id)
    return abandoned


def _process_gone(pid: str | None) -> bool:
    if pid is None or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # it exists, under another user
    return False


@contextmanager
def mlflow_notices_silenced() -> Iterator[None]:
    """Keep MLflow's own notices of logging and registering a model out of the run's output:
    that pip's version is unknown (uv installs without pip; the requirements are pinned explicitly),
    "Successfully registered model". The run's summary says what was registered; an error
    still raises."""
    from mlflow.utils.logging_utils import disable_logging, enable_logging

    disable_logging()
    try:
        yield
    finally:
        enable_logging()
