"""One temporary Prefect server for the whole test session, shared by the flow tests and by
every test that runs a `norrut` command going through a flow. Registered in conftest.py."""

from __future__ import annotations

import os

import pytest
from prefect.testing.utilities import prefect_test_harness


@pytest.fixture(scope="session")
def prefect_harness():
    """A temporary Prefect server and database, started once when a test first asks for it.

    Yields the server's API URL, for subprocesses that should record their runs there too."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # Importing prefect.main sets up Prefect's logging, whose console handler keeps the
    # sys.stderr of that moment: pytest's here, not a CliRunner's that is closed after the
    # command it ran.
    import prefect.main  # noqa: F401

    with prefect_test_harness(server_startup_timeout=120):
        from prefect.settings import PREFECT_API_URL

        yield PREFECT_API_URL.value()
