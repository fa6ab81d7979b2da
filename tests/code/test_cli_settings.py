"""Each job's command takes its options from the job's settings: the same names, the help and
the default written once in the settings class, and one error style for every bad value. A new
job parameter is one described field on its settings class; its option follows."""

from __future__ import annotations

import json

import pytest
import typer
import typer.main
from pydantic import BaseModel, Field
from typer.core import TyperArgument, TyperGroup, TyperOption
from typer.testing import CliRunner

from activation.settings import ExportSettings, LiftSettings, ScoreSettings
from features.settings import FeatureSettings
from flows.settings import PipelineSettings
from insight.settings import CreativesSettings
from models.settings import PromoteSettings, TrainSettings
from monitoring.settings import MonitorSettings
from norrut.cli.app import build_app
from norrut.cli.context import DATE_FORMAT, JobCommand, job_settings, setting_help
from warehouse.settings import IngestSettings, OptoutSettings

# Each job's command, its settings class, the options it has beyond the settings, and the
# settings fields it does not offer (with why).
JOBS: list[tuple[tuple[str, ...], type[BaseModel], set[str], set[str]]] = [
    (("ingest",), IngestSettings, set(), set()),
    (("optout",), OptoutSettings, set(), set()),
    (("features", "build"), FeatureSettings, set(), set()),
    (("train",), TrainSettings, {"--json"}, set()),
    # The promotion step takes no writer lock, so there is nothing to wait for.
    (("promote",), PromoteSettings, set(), {"lock_wait_seconds"}),
    (("score",), ScoreSettings, set(), set()),
    (("export",), ExportSettings, set(), set()),
    (("lift",), LiftSettings, set(), set()),
    (("monitor",), MonitorSettings, set(), set()),
    (("creatives",), CreativesSettings, set(), set()),
    (("pipeline",), PipelineSettings, set(), set()),
]
# The positional arguments kept from before, each another way to give one field.
ARGUMENTS = {("ingest",): {"inbox_argument"}, ("optout",): {"file"}}
# Spellings from before the options were named after the fields; they still work.
ALIASES = {
    ("train",): {"--horizon-days": "--horizon", "--n-training-snapshots": "--snapshots",
                 "--snapshot-interval-days": "--interval", "--optuna-trials": "--trials"},
    ("export",): {"--segments-file": "--segments", "--exports-dir": "--out"},
    ("pipeline",): {"--segments-file": "--segments"},
    ("lift",): {"--intent-types": "--intent-type"},
    ("creatives",): {"--intent-types": "--intent-type",
                     "--engagement-types": "--engagement-type"},
}


def _commands() -> dict[tuple[str, ...], object]:
    def walk(command, path: tuple[str, ...]):
        yield path, command
        if isinstance(command, TyperGroup):
            for name, sub in command.commands.items():
                yield from walk(sub, path + (name,))

    return dict(walk(typer.main.get_command(build_app()), ()))


def _options(command) -> dict[str, TyperOption]:
    return {param.opts[0]: param for param in command.params if isinstance(param, TyperOption)}


def _offered_fields(settings_class: type[BaseModel], not_offered: set[str]) -> set[str]:
    """Fields with a description are the job's options (the others are deployment-only)."""
    return {name for name, info in settings_class.model_fields.items()
            if info.description and name != "home" and name not in not_offered}


def _option(field: str) -> str:
    return "--" + field.replace("_", "-")


@pytest.mark.parametrize(("path", "settings_class", "extras", "not_offered"), JOBS,
                         ids=[" ".join(job[0]) for job in JOBS])
def test_a_jobs_options_are_its_settings_fields(path, settings_class, extras, not_offered):
    # given the command of a job
    command = _commands()[path]
    options = _options(command)
    # then its options are the settings' fields by the same names, plus its own extras
    expected = {_option(field) for field in _offered_fields(settings_class, not_offered)}
    assert set(options) == expected | extras
    # and each field's option says what its description says, with the field's default
    for field in _offered_fields(settings_class, not_offered):
        assert options[_option(field)].help == setting_help(settings_class, field), field
        assert settings_class.model_fields[field].description in options[_option(field)].help
    # and the only positional arguments are the documented ones
    arguments = {param.name for param in command.params if isinstance(param, TyperArgument)}
    assert arguments == ARGUMENTS.get(path, set())


def test_the_older_spellings_are_aliases_of_the_same_options():
    commands = _commands()
    for path, aliases in ALIASES.items():
        options = _options(commands[path])
        for name, alias in aliases.items():
            assert alias in options[name].opts, (path, name, alias)


def test_a_shown_default_is_the_settings_default():
    options = _options(_commands()[("train",)])
    assert options["--horizon-days"].help.endswith("\\[default: 14]")
    assert options["--promote"].help.endswith("\\[default: promote]")
    assert "default" not in options["--tracking-uri"].help  # empty: the description says why


def test_no_help_shows_a_bool_type_or_a_placeholder_in_braces():
    for path in _commands():
        result = CliRunner().invoke(build_app(), [*path, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, (path, result.output)
        for text in ("<bool>", "BOOLEAN", "{"):
            assert text not in result.output, (path, text, result.output)


def _date_options() -> list[tuple[tuple[str, ...], str]]:
    return [(path, name) for path, command in _commands().items()
            for name, param in _options(command).items() if param.metavar == DATE_FORMAT]


def test_every_date_option_is_found():
    assert set(_date_options()) == {
        (("features", "build"), "--as-of"), (("train",), "--as-of"), (("score",), "--as-of"),
        (("export",), "--as-of"), (("lift",), "--as-of"), (("pipeline",), "--as-of"),
        (("creatives",), "--as-of"),
        (("lift",), "--start"), (("lift",), "--end"), (("simulate",), "--end"),
        (("simulate",), "--shift-from")}


@pytest.mark.parametrize(("path", "option"), _date_options(),
                         ids=[f"{' '.join(p)} {o}" for p, o in _date_options()])
def test_a_bad_date_is_the_same_one_line_on_every_date_option(home, tmp_path, path, option):
    arguments = [str(tmp_path / "world")] if path == ("simulate",) else []
    result = CliRunner().invoke(build_app(), [*path, *arguments, option, "2026-13-01"])
    assert result.exit_code == 2, result.output
    assert result.output == f"error: {option}: '2026-13-01' is not a date (YYYY-MM-DD)\n"


def test_a_value_the_settings_refuse_is_one_line_naming_the_option(home):
    result = CliRunner().invoke(build_app(), ["train", "--as-of", "2026-03-12",
                                              "--horizon-days", "500"])
    assert result.exit_code == 2, result.output
    assert result.output == "error: --horizon-days: Input should be less than or equal to 180\n"
    # and a check of the settings' own says its reason, naming the option too
    refused = CliRunner().invoke(build_app(), ["lift", "--destination", "nowhere"])
    assert refused.exit_code == 2, refused.output
    assert refused.output.startswith("error: --destination: unknown destination 'nowhere'")


class _Stop(Exception):
    """Raised by a recording stand-in for a flow run, so the command goes no further."""


def _recording(monkeypatch, run_name: str) -> list:
    """Replace flows.run.<run_name> with one that records the settings it is given."""
    given: list = []

    def record(settings, *, quiet: bool = False, progress=None):
        given.append(settings)
        raise _Stop

    monkeypatch.setattr(f"flows.run.{run_name}", record)
    return given


def test_train_builds_its_settings_from_the_options_old_spellings_included(home, monkeypatch):
    given = _recording(monkeypatch, "run_train")
    # when training with the older spellings, and a list option given twice
    CliRunner().invoke(build_app(), [
        "train", "--as-of", "2026-03-12", "--horizon", "10", "--snapshots", "3", "--interval",
        "14", "--trials", "2", "--intent-types", "job_click,inquiry", "--intent-types", "signup",
        "--no-promote"])
    # then the flow is given the settings those options name, the rest at their defaults
    assert given == [TrainSettings(
        home=str(home.root), as_of="2026-03-12", horizon_days=10, n_training_snapshots=3,
        snapshot_interval_days=14, optuna_trials=2,
        intent_types=("job_click", "inquiry", "signup"), promote=False)]


def test_export_and_lift_take_their_older_spellings(home, monkeypatch, tmp_path):
    exports = _recording(monkeypatch, "run_export")
    lifts = _recording(monkeypatch, "run_lift")
    segments = tmp_path / "segments.yaml"
    segments.write_text(json.dumps({"segments": [
        {"name": "top-half", "description": "The upper half.", "select": {"top_deciles": 5}}]}))
    CliRunner().invoke(build_app(), ["export", "--as-of", "2026-11-01", "--segments",
                                     str(segments), "--out", str(tmp_path / "exports")])
    CliRunner().invoke(build_app(), ["lift", "--segment", "top-half", "--intent-type",
                                     "job_click", "--intent-type", "inquiry"])
    assert exports == [ExportSettings(home=str(home.root), as_of="2026-11-01",
                                      segments_file=str(segments.resolve()),
                                      exports_dir=str((tmp_path / "exports").resolve()))]
    assert lifts == [LiftSettings(home=str(home.root), segment="top-half",
                                  intent_types=("job_click", "inquiry"))]


def test_ingest_takes_its_inbox_as_the_argument_or_the_option_not_both(home, monkeypatch,
                                                                       tmp_path):
    given = _recording(monkeypatch, "run_ingest")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    CliRunner().invoke(build_app(), ["ingest", str(inbox)])
    CliRunner().invoke(build_app(), ["ingest", "--inbox", str(inbox), "--strict"])
    both = CliRunner().invoke(build_app(), ["ingest", str(inbox), "--inbox", str(tmp_path)])
    assert [(s.inbox, s.strict) for s in given] == [(str(inbox), False), (str(inbox), True)]
    assert both.exit_code == 2 and both.output.startswith("error: give the inbox once"), \
        both.output


def test_a_path_setting_reaches_the_job_as_an_absolute_path(home, monkeypatch, tmp_path):
    given = _recording(monkeypatch, "run_score")
    # when scoring with a path relative to the working folder
    monkeypatch.chdir(tmp_path)
    CliRunner().invoke(build_app(), ["score", "--as-of", "2026-11-01", "--out", "ranked.csv"])
    # then the flow run's settings name the file wherever the run works
    assert [settings.out for settings in given] == [str(tmp_path.resolve() / "ranked.csv")]


class _WiderFeatureSettings(FeatureSettings):
    sample_share: float = Field(default=1.0, gt=0, le=1,
                                description="Share of the persons to build features for.")


def _one_job_app(settings_class: type[BaseModel], **extras) -> tuple[typer.Typer, list]:
    """An app of one job command made from `settings_class` (and the command's `extras`), and
    the settings it reads."""
    read: list = []
    app = typer.Typer()

    def job(ctx: typer.Context) -> None:
        read.append(job_settings(ctx))

    app.command("job", cls=JobCommand.for_settings(settings_class, **extras))(job)
    return app, read


def test_adding_a_job_parameter_is_one_described_field(home):
    # given a job's settings with one more described field, and a job command made from them
    app, read = _one_job_app(_WiderFeatureSettings)
    # then its help offers the field's option, with the field's description and default
    shown = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "--sample-share" in shown.output
    assert "Share of the persons to build features for. [default: 1.0]" in shown.output
    # and the value given reaches the settings object, the other fields at their defaults
    given = CliRunner().invoke(app, ["--sample-share", "0.25", "--threads", "2"])
    assert given.exit_code == 0, given.output
    assert read == [_WiderFeatureSettings(home=str(home.root), sample_share=0.25, threads=2)]
    # and a value the field refuses is the one line every job's option says
    refused = CliRunner().invoke(app, ["--sample-share", "2"])
    assert refused.exit_code == 2, refused.output
    assert refused.output == "error: --sample-share: Input should be less than or equal to 1\n"


def test_a_described_field_no_option_can_read_fails_when_the_command_is_built():
    class WeightedFeatureSettings(FeatureSettings):
        weights: dict[str, float] = Field(default_factory=dict, description="Weight per kind.")

    app, _ = _one_job_app(WeightedFeatureSettings)
    with pytest.raises(TypeError, match="WeightedFeatureSettings.weights"):
        typer.main.get_command(app)


def test_an_alias_of_a_field_the_command_does_not_offer_fails_when_it_is_built():
    app, _ = _one_job_app(FeatureSettings, aliases={"horizon_days": "--horizon"})
    with pytest.raises(ValueError, match="horizon_days"):
        typer.main.get_command(app)


def test_a_default_as_of_on_an_empty_warehouse_is_one_line(home):
    from warehouse.db import open_warehouse

    # given a warehouse set up but holding no event
    with open_warehouse(home.warehouse_path):
        pass
    # when building features without a date, then one line says why there is no default
    result = CliRunner().invoke(build_app(), ["features", "build"])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: the warehouse holds no events"), result.output
    assert len(result.output.strip().splitlines()) == 1
