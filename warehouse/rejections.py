"""Row-level rejections of an input file, as (row number, reason) pairs, and their summaries."""

from __future__ import annotations

from collections import Counter

import duckdb

from warehouse.sql_files import compose_query


class RejectedRows:
    """Mixin for a report dataclass with a `rejected: list[tuple[int, str]]` field."""

    rejected: list[tuple[int, str]]

    @property
    def rows_rejected(self) -> int:
        return len(self.rejected)

    @property
    def rejected_by_reason(self) -> dict[str, int]:
        return dict(sorted(Counter(reason for _, reason in self.rejected).items()))


def stage_checked_rows(con: duckdb.DuckDBPyConnection, name: str, source_query: str,
                       check_query: str, parameters: dict[str, object], file_label: str,
                       unparseable: type[ValueError]) -> None:
    """Every row of a small file (catalog, opt-outs) checked into temp table <name>_checked:
    `check_query` reads the view <name>_source, which `source_query` defines. A file the reader
    cannot parse raises `unparseable`, naming `file_label`."""
    try:
        con.execute(compose_query(f"{name}_source", source_query, check_query, f"{name}_checked"),
                    parameters)
    except duckdb.Error as error:
        # Only the kind of failure: the reader's message may quote the file's content.
        raise unparseable(f"{file_label} cannot be parsed "
                          f"({type(error).__name__})") from None


def rejected_rows(con: duckdb.DuckDBPyConnection, checked_table: str) -> list[tuple[int, str]]:
    """(row number, reason) of each rejected row of a stage_checked_rows table, in file order."""
    return [(int(number), reason) for number, reason in con.execute(
        f"select source_row_number, reason from {checked_table} where reason is not null "
        "order by source_row_number").fetchall()]
