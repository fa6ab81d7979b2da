"""prefect.yaml, the flows' signatures and their settings objects name the same parameters."""

from __future__ import annotations

import importlib
import inspect
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from flows import settings as flow_settings

REPO_ROOT = Path(__file__).resolve().parents[1]
DEPLOYMENTS = yaml.safe_load((REPO_ROOT / "prefect.yaml").read_text())["deployments"]

SETTINGS_OF_FLOW = {
    "ingest": flow_settings.IngestSettings,
    "optout": flow_settings.OptoutSettings,
    "build-features": flow_settings.BuildFeaturesSettings,
    "train": flow_settings.TrainSettings,
    "score-and-export": flow_settings.ScoreAndExportSettings,
    "score": flow_settings.ScoreSettings,
    "export": flow_settings.ExportSettings,
    "pipeline": flow_settings.PipelineSettings,
    "lift": flow_settings.LiftSettings,
}


def _load_flow(entrypoint: str):
    file_name, function_name = entrypoint.split(":")
    module = importlib.import_module(file_name.removesuffix(".py").replace("/", "."))
    return getattr(module, function_name)


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=lambda d: d["entrypoint"])
def test_deployment_parameters_are_the_flow_settings_fields(deployment):
    # given a deployment in prefect.yaml and the flow it runs
    flow = _load_flow(deployment["entrypoint"])
    settings_class = SETTINGS_OF_FLOW[flow.name]
    fields = settings_class.model_fields
    # when comparing the names and defaults of parameters, signature and settings
    signature = inspect.signature(flow.fn).parameters
    # then all three name the same parameters
    assert set(signature) == set(fields), f"{flow.name}: signature {set(signature)} vs {set(fields)}"
    assert set(deployment["parameters"]) == set(fields), (
        f"{deployment['entrypoint']}: prefect.yaml {set(deployment['parameters'])} vs {set(fields)}")
    # and the defaults agree, so a scheduled run does what a CLI run does
    for name, field in fields.items():
        assert signature[name].default == field.default, f"{flow.name}.{name} default differs"
        assert deployment["parameters"][name] == field.default, f"prefect.yaml {name} default"


def test_schedules_are_in_swedish_time():
    # given the scheduled deployments
    schedules = {d["entrypoint"]: d.get("schedules", []) for d in DEPLOYMENTS}
    # then ingest is hourly, export daily at 05:00, training Mondays at 03:00
    assert schedules["flows/ingest.py:ingest"] == [
        {"cron": "0 * * * *", "timezone": "Europe/Stockholm"}]
    assert schedules["flows/score_and_export.py:score_and_export"] == [
        {"cron": "0 5 * * *", "timezone": "Europe/Stockholm"}]
    assert schedules["flows/train.py:train"] == [
        {"cron": "0 3 * * 1", "timezone": "Europe/Stockholm"}]
    # and the pipeline and the lift measurement run on demand only
    assert schedules["flows/pipeline.py:pipeline"] == []
    assert schedules["flows/lift.py:lift"] == []


def test_settings_reject_unknown_and_invalid_values():
    # given a typo in a parameter name and a negative wait
    # then the settings object refuses both with a clear error
    with pytest.raises(ValueError, match="inboxx"):
        flow_settings.IngestSettings(inboxx="/tmp/in")
    with pytest.raises(ValueError, match="lock_wait_seconds"):
        flow_settings.PipelineSettings(lock_wait_seconds=-1)


def test_lift_settings_refuse_an_unknown_destination_or_segment_name():
    # given a destination Norrut has no exporter for, and a segment name no YAML can hold
    # then the settings object refuses both, naming the field
    with pytest.raises(ValueError, match="destination"):
        flow_settings.LiftSettings(destination="linkedin")
    with pytest.raises(ValueError, match="segment"):
        flow_settings.LiftSettings(segment="../top-decile")
    with pytest.raises(ValueError, match="export_version"):
        flow_settings.LiftSettings(export_version=0)


def test_paths_left_empty_resolve_under_the_norrut_home(home):
    # given settings with no paths
    settings = flow_settings.PipelineSettings()
    # then the home comes from $NORRUT_HOME and the inbox lies inside it
    assert settings.norrut_home() == home
    assert settings.inbox_path() == home.root / "inbox"


def test_training_is_due_without_a_champion_or_with_an_old_one():
    # given "now" and the retraining age of a week
    now = datetime(2026, 11, 2, 5, 0, tzinfo=UTC)
    # then a missing champion, or one older than a week, is retrained; a newer one is kept
    assert flow_settings.training_due(None, now, 7) == (True, "there is no champion model yet")
    due, why = flow_settings.training_due(now - timedelta(days=8), now, 7)
    assert due and "8.0 days ago" in why, why
    due, why = flow_settings.training_due(now - timedelta(days=2), now, 7)
    assert not due and "within 7 days" in why, why


def test_the_default_as_of_is_the_day_after_the_last_event():
    assert flow_settings.day_after(date(2026, 11, 1), today=date(2026, 11, 22)) == date(2026, 11, 2)
    # an empty warehouse has no last event: today is used
    assert flow_settings.day_after(None, today=date(2026, 11, 22)) == date(2026, 11, 22)


def test_only_file_system_and_network_failures_are_retried():
    from prefect.states import Failed

    from flows.common import retry_only_io_errors

    # given failed task states from a disk error, a network error and bad input
    # then only the first two are retried
    assert retry_only_io_errors(None, None, Failed(data=OSError("disk full")))
    assert retry_only_io_errors(None, None, Failed(data=ConnectionResetError("reset")))
    assert not retry_only_io_errors(None, None, Failed(data=ValueError("bad event_type")))
