"""The CLI as a newcomer meets it: every command and every option explains itself."""

from __future__ import annotations

import click
import typer.main
from typer.testing import CliRunner

from norrut.cli import build_app

runner = CliRunner()


def _walk(command: click.Command, path: tuple[str, ...] = ()):
    yield path, command
    if isinstance(command, click.Group):
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
            if isinstance(param, click.Option) and not param.hidden and not param.help:
                missing.append(f"{' '.join(path) or 'norrut'} {param.opts[0]}")
    # then nothing is left unexplained
    assert not missing, f"commands/options without help text: {missing}"


def test_help_runs_and_names_the_home_option():
    result = runner.invoke(build_app(), ["--help"])
    assert result.exit_code == 0, result.output
    assert "--home" in result.output
