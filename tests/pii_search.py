"""Where a planted personal value ended up in a Norrut home: in any file's bytes or any
table's text."""

from __future__ import annotations

import duckdb


def every_text_value(warehouse) -> list[str]:
    """Every value of every column of every table, as text (lists and JSON included)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute("select schema_name, table_name from duckdb_tables()").fetchall()
        values = []
        for schema, table in tables:
            columns = [row[0] for row in con.execute(
                "select column_name from duckdb_columns() where schema_name = ? and table_name = ?",
                [schema, table]).fetchall()]
            for column in columns:
                values += [row[0] for row in con.execute(
                    f'select cast("{column}" as varchar) from "{schema}"."{table}" '
                    f'where "{column}" is not null').fetchall()]
        return values


def personal_values_stored(home, values) -> dict[str, list[str]]:
    """Where each value is stored in the home: the files whose raw bytes hold it (the
    warehouse after a checkpoint, any WAL, reports, ...) and the tables with a text value
    holding it. Empty when none is stored anywhere."""
    with duckdb.connect(str(home.warehouse_path)) as con:
        con.execute("checkpoint")
    file_bytes = {path: path.read_bytes() for path in sorted(home.root.rglob("*")) if path.is_file()}
    text_values = every_text_value(home.warehouse_path)
    found: dict[str, list[str]] = {}
    for value in values:
        places = [str(path.relative_to(home.root)) for path, data in file_bytes.items()
                  if value.encode("utf-8") in data]
        places += ["a table's text value" for text in text_values if value in text][:1]
        if places:
            found[value] = places
    return found
