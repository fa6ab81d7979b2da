"""Data checks that run against a real DuckDB: the grain and key each .sql file states."""

from __future__ import annotations

import re

import duckdb

from warehouse.sql_files import TableSpec

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


def _quoted(identifier: str) -> str:
    # Names come from our own .sql headers, but a typo there must fail loudly, not run as SQL.
    if not _IDENTIFIER.match(identifier):
        raise ValueError(f"not a plain identifier: {identifier!r}")
    return f'"{identifier}"'


def check_grain(con: duckdb.DuckDBPyConnection, spec: TableSpec) -> list[str]:
    """Problems with `spec`'s key on the data now in the warehouse: missing, null or repeated."""
    if not spec.key:
        return [f"{spec.path}: states no `-- key:` header"]
    schema, table = spec.name.split(".")
    relation = f"{_quoted(schema)}.{_quoted(table)}"
    columns = [_quoted(column) for column in spec.key]
    known = {row[0] for row in con.execute(
        "select column_name from information_schema.columns "
        "where table_schema = ? and table_name = ?", [schema, table]).fetchall()}
    if not known:
        return [f"{spec.name}: does not exist in this warehouse"]
    missing = [column for column in spec.key if column not in known]
    if missing:
        return [f"{spec.name}: key column(s) {', '.join(missing)} not in the relation"]

    problems = []
    any_null = " or ".join(f"{column} is null" for column in columns)
    null_rows = con.execute(f"select count(*) from {relation} where {any_null}").fetchone()[0]
    if null_rows:
        problems.append(f"{spec.name}: {null_rows} row(s) with a null in key ({', '.join(spec.key)})")
    key_list = ", ".join(columns)
    repeated = con.execute(
        f"select count(*), coalesce(sum(n), 0) from ("
        f"select count(*) as n from {relation} group by {key_list} having count(*) > 1)"
    ).fetchone()
    if repeated[0]:
        problems.append(
            f"{spec.name}: {repeated[0]} key value(s) of ({', '.join(spec.key)}) repeated "
            f"across {repeated[1]} rows; grain is '{spec.grain}'"
        )
    return problems
