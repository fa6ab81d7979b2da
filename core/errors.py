"""How an unexpected error is said in one line, by the CLI and by a flow run's summary."""

from __future__ import annotations


def one_line(error: BaseException) -> str:
    """The exception's type and the first line of its message (DuckDB's go on with SQL)."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
