"""Shared fixtures: every test gets its own NORRUT_HOME under tmp_path."""

from __future__ import annotations

import pytest

from core.home import NorrutHome

pytest_plugins = ["tests.prefect_fixtures"]


@pytest.fixture
def home(tmp_path, monkeypatch) -> NorrutHome:
    """A fresh Norrut home, also exported as $NORRUT_HOME for CLI and subprocess tests."""
    monkeypatch.setenv("NORRUT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    return NorrutHome.resolve(tmp_path / "home").ensure()
