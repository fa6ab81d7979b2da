"""The CLI as a newcomer meets it: every command and every option explains itself."""

from __future__ import annotations

import typer.main
from typer.core import TyperGroup, TyperOption
from typer.testing import CliRunner

from norrut.cli.app import build_app

runner = CliRunner()


def _walk(command, path: tuple[str, ...] = ()):
    yield path, command
    if isinstance(command, TyperGroup):
        for name, sub in command.commands.items():
            yield from _walk(sub, path + (name,))


def test_every_command_and_option_has_help_text():
    # given the full norrut command tree
    root = typer.main.get_command(build_app())
    missing = []
    # when walking every command and parameter
    for path, command in _walk(root):
        if path and not (command.help or command.short_help):
            missing.append(" ".join(path) + " (command)")
        for param in command.params:
            if isinstance(param, TyperOption) and not param.hidden and not param.help:
                missing.append(f"{' '.join(path) or 'norrut'} {param.opts[0]}")
    # then nothing is left unexplained
    assert not missing, f"commands/options without help text: {missing}"


def test_the_walk_reaches_every_command_and_option():
    # given the full norrut command tree, when walking it
    root = typer.main.get_command(build_app())
    walked = {" ".join(path): command for path, command in _walk(root)}
    # then nested commands and their options are reached too (the help check above is not empty)
    assert {"features build", "users add", "alerts add", "train"} <= set(walked)
    assert "--horizon-days" in [param.opts[0] for param in walked["train"].params]


def test_help_runs_and_names_the_home_option():
    result = runner.invoke(build_app(), ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "--home" in result.output
    # and its default is shown as written, with no stray space before a period
    assert "portal accounts [default: ./.norrut]" in result.output, result.output


def test_features_list_is_the_one_way_to_list_the_features():
    # when listing the features with the command the group's help names
    listed = runner.invoke(build_app(), ["features", "list"])
    group_help = runner.invoke(build_app(), ["features"], env={"COLUMNS": "200"})
    # then every feature is there with its description
    assert listed.exit_code == 0, listed.output
    for name in ("theme_share_90d__tech_jobs", "days_since_last_intent", "n_share_30d"):
        assert name in listed.output, name
    # and the group's help points to `list`, with no --list option beside it
    assert group_help.exit_code == 0, group_help.output
    assert "norrut features list" in group_help.output and "--list" not in group_help.output
    assert runner.invoke(build_app(), ["features", "--list"]).exit_code == 2


def test_an_unexpected_error_is_one_line_naming_it_with_exit_code_2(home):
    # given a folder where the warehouse file should be (DuckDB cannot read it)
    home.warehouse_path.mkdir()
    # when a command meets that error where it expected none
    result = runner.invoke(build_app(), ["features", "build"])
    # then one line names the exception and how to see its traceback, exit code 2
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: IOException: IO Error: Could not read from file"), lines[0]
    assert "NORRUT_DEBUG=1" in lines[0] and "Traceback" not in result.output


def test_norrut_debug_shows_the_unexpected_error_itself(home, monkeypatch):
    import duckdb

    # given the same unreadable warehouse, and NORRUT_DEBUG=1
    home.warehouse_path.mkdir()
    monkeypatch.setenv("NORRUT_DEBUG", "1")
    # when the command fails, then the exception propagates (with its traceback) as it was
    result = runner.invoke(build_app(), ["features", "build"])
    assert isinstance(result.exception, duckdb.IOException), result.exception
    assert result.exit_code == 1


def test_a_command_on_a_warehouse_never_set_up_says_what_to_run(home):
    import duckdb

    # given a warehouse file in which a killed first run created no table
    duckdb.connect(str(home.warehouse_path)).close()
    # when training without a date (read from the warehouse), then one line says what to run
    result = runner.invoke(build_app(), ["train"])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: the warehouse"), result.output
    assert "not fully set up" in result.output and "norrut ingest" in result.output


def test_each_build_of_the_app_registers_each_command_once():
    # given an app built once already (as every test and the portal's own CLI calls do)
    build_app()
    # when it is built again
    app = build_app()
    # then each command is registered once, not once a build (which slowed every later build)
    names = [info.name or info.callback.__name__ for info in app.registered_commands]
    groups = [info.name for info in app.registered_groups]
    assert len(names) == len(set(names)) and len(groups) == len(set(groups)), (names, groups)
    assert len(typer.main.get_command(app).commands) == len(names) + len(groups)
