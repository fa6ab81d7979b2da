"""Each job has one settings object: the flow's one parameter, what prefect.yaml overrides, and
what the stage function receives."""

from __future__ import annotations

import importlib
import inspect
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from activation.settings import ExportSettings, LiftSettings, ScoreAndExportSettings, ScoreSettings
from core.settings import JobSettings
from features.settings import FeatureSettings
from flows import settings as flow_settings
from flows.settings import PipelineSettings
from insight.settings import CreativesSettings
from models.settings import TrainSettings
from monitoring.settings import MonitorSettings
from warehouse.settings import IngestSettings, OptoutSettings

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENTS = yaml.safe_load((REPO_ROOT / "prefect.yaml").read_text())["deployments"]

SETTINGS_OF_FLOW = {
    "ingest": IngestSettings,
    "optout": OptoutSettings,
    "build-features": FeatureSettings,
    "train": TrainSettings,
    "score-and-export": ScoreAndExportSettings,
    "score": ScoreSettings,
    "export": ExportSettings,
    "pipeline": PipelineSettings,
    "lift": LiftSettings,
    "monitor": MonitorSettings,
    "creatives": CreativesSettings,
}


def _load_flow(entrypoint: str):
    file_name, function_name = entrypoint.split(":")
    module = importlib.import_module(file_name.removesuffix(".py").replace("/", "."))
    return getattr(module, function_name)


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=lambda d: d["entrypoint"])
def test_a_flow_takes_its_jobs_settings_as_its_one_parameter(deployment):
    # given a deployment in prefect.yaml and the flow it runs
    flow = _load_flow(deployment["entrypoint"])
    settings_class = SETTINGS_OF_FLOW[flow.name]
    # then the flow's one parameter is that job's settings, defaulting to its defaults
    signature = inspect.signature(flow.fn).parameters
    assert list(signature) == ["settings"], f"{flow.name}: {list(signature)}"
    assert signature["settings"].default == settings_class()
    # and prefect.yaml lists only fields that exist and differ from the defaults
    overrides = deployment.get("parameters", {}).get("settings", {})
    assert set(deployment.get("parameters", {})) <= {"settings"}
    for name, value in overrides.items():
        assert name in settings_class.model_fields, f"{deployment['name']}: unknown {name}"
        assert settings_class.model_validate({name: value}) != settings_class(), (
            f"{deployment['name']}: {name} repeats the default")


def test_every_job_settings_class_is_owned_by_its_stage():
    # given the settings classes of all jobs
    # then each is a JobSettings of the stage package that runs the job, and none is defined twice
    owners = {IngestSettings: "warehouse", OptoutSettings: "warehouse", FeatureSettings: "features",
              TrainSettings: "models", ScoreSettings: "activation", ExportSettings: "activation",
              ScoreAndExportSettings: "activation", LiftSettings: "activation",
              MonitorSettings: "monitoring", CreativesSettings: "insight",
              PipelineSettings: "flows"}
    for settings_class, stage in owners.items():
        assert issubclass(settings_class, JobSettings)
        assert settings_class.__module__ == f"{stage}.settings", settings_class
    names = [cls.__name__ for cls in owners]
    assert len(names) == len(set(names))


def test_a_job_parameter_added_to_settings_reaches_the_flow_unchanged(tmp_path):
    # given a job's settings with one more field (what adding a parameter is: one line)
    class WiderFeatureSettings(FeatureSettings):
        extra_window_days: int = 7

    # then the flow's one parameter carries it as it is, with no other list to edit
    settings = WiderFeatureSettings(home=str(tmp_path), extra_window_days=30)
    assert settings.model_copy(update={"as_of": date(2026, 11, 1)}).extra_window_days == 30
    assert "extra_window_days" in WiderFeatureSettings.model_json_schema()["properties"]


def test_the_pipeline_hands_each_step_its_own_settings(tmp_path):
    # given pipeline settings with a home, a wait and an inbox
    pipeline = PipelineSettings(home=str(tmp_path), lock_wait_seconds=5, inbox="/in",
                                segments_file="/s.yaml")
    day = date(2026, 11, 2)
    # then each step's settings carry the shared fields and the date
    assert pipeline.ingest_settings() == IngestSettings(home=str(tmp_path), lock_wait_seconds=5,
                                                        inbox="/in")
    assert pipeline.feature_settings(day).as_of == day
    assert pipeline.train_settings(day).lock_wait_seconds == 5
    chain = pipeline.score_and_export_settings(day)
    assert chain.export_settings(day).segments_file == "/s.yaml"
    assert chain.score_settings(day).home == str(tmp_path)


def test_schedules_are_in_swedish_time():
    # given the scheduled deployments
    schedules = {d["name"]: d.get("schedules", []) for d in DEPLOYMENTS}
    # then ingest is hourly, export daily at 05:00, training Mondays at 03:00
    assert schedules["ingest-hourly"] == [
        {"cron": "0 * * * *", "timezone": "Europe/Stockholm"}]
    assert schedules["score-and-export-daily"] == [
        {"cron": "0 5 * * *", "timezone": "Europe/Stockholm"}]
    assert schedules["train-weekly"] == [
        {"cron": "0 3 * * 1", "timezone": "Europe/Stockholm"}]
    # and the creative report weekly, Mondays at 06:00, after that week's model
    assert schedules["creatives-weekly"] == [
        {"cron": "0 6 * * 1", "timezone": "Europe/Stockholm"}]
    # and the pipeline and the lift measurement run on demand only
    assert schedules["pipeline-on-demand"] == []
    assert schedules["lift-on-demand"] == []
    # and the deployments on the cluster run on demand too
    assert all(schedules[name] == [] for name in schedules if name.endswith("-on-cluster"))


def test_settings_reject_unknown_and_invalid_values():
    # given a typo in a parameter name and a negative wait
    # then the settings object refuses both with a clear error
    with pytest.raises(ValueError, match="inboxx"):
        IngestSettings(inboxx="/tmp/in")
    with pytest.raises(ValueError, match="lock_wait_seconds"):
        PipelineSettings(lock_wait_seconds=-1)


def test_lift_settings_refuse_an_unknown_destination_or_segment_name():
    # given a destination Norrut has no exporter for, and a segment name no YAML can hold
    # then the settings object refuses both, naming the field
    with pytest.raises(ValueError, match="destination"):
        LiftSettings(destination="linkedin")
    with pytest.raises(ValueError, match="segment"):
        LiftSettings(segment="../top-decile")
    with pytest.raises(ValueError, match="export_version"):
        LiftSettings(export_version=0)


def test_paths_left_empty_resolve_under_the_norrut_home(home):
    # given settings with no paths
    settings = IngestSettings()
    # then the home comes from $NORRUT_HOME and the inbox and opt-out file lie inside it
    assert settings.norrut_home() == home
    assert settings.inbox_path() == home.root / "inbox"
    assert OptoutSettings().optouts_path() == home.root / "inbox" / "optouts.csv"
    assert ExportSettings().exports_path() == home.root / "exports"


def test_training_is_due_without_a_champion_or_with_an_old_one():
    # given "now" and the retraining age of a week
    now = datetime(2026, 11, 2, 5, 0, tzinfo=UTC)
    # then a missing champion, or one older than a week, is retrained; a newer one is kept
    assert flow_settings.training_due(None, now, 7) == (True, "there is no champion model yet")
    due, why = flow_settings.training_due(now - timedelta(days=8), now, 7)
    assert due and "8.0 days ago" in why, why
    due, why = flow_settings.training_due(now - timedelta(days=2), now, 7)
    assert not due and "within 7 days" in why, why


def test_the_default_as_of_is_the_day_after_the_last_event(tmp_path):
    from warehouse.as_of import NoEventsError, resolve_as_of
    from warehouse.db import open_warehouse

    # given a warehouse without events, then one whose newest event is late on 1 November (UTC)
    path = tmp_path / "warehouse.duckdb"
    with open_warehouse(path):
        pass
    # then an empty warehouse has no default, and says what to do
    with pytest.raises(NoEventsError, match="norrut ingest"):
        resolve_as_of(path, None)
    with open_warehouse(path) as con:
        con.execute("insert into raw.events by name select 'e1' as event_id, "
                    "'00000000-0000-4000-8000-000000000001' as person_id, 'maid' as id_type, "
                    "'view' as event_type, timestamp '2026-11-01 23:30:00' as occurred_at, "
                    "true as consent, 'f' as file_sha256")
    # and the default is the next day, a given date wins
    assert resolve_as_of(path, None) == date(2026, 11, 2)
    assert resolve_as_of(path, date(2026, 10, 1)) == date(2026, 10, 1)


def test_only_file_system_and_network_failures_are_retried():
    from prefect.states import Failed

    from flows.common import retry_only_io_errors

    # given failed task states from a disk error, a network error and bad input
    # then only the first two are retried
    assert retry_only_io_errors(None, None, Failed(data=OSError("disk full")))
    assert retry_only_io_errors(None, None, Failed(data=ConnectionResetError("reset")))
    assert not retry_only_io_errors(None, None, Failed(data=ValueError("bad event_type")))
