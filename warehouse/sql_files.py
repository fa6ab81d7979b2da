"""Read the project's SQL files and the grain/key header each table file states.

Storage's own SQL (raw, staging, meta, audit, marts, migrations and its queries) lives in
warehouse/sql; a stage that owns tables keeps its SQL beside its code, in <stage>/sql. A file is
named by the same relative path either way: "raw/events.sql" is warehouse/sql/raw/events.sql,
"features/person_label.sql" is features/sql/person_label.sql. The warehouse creates every
stage's tables (migrations), so it finds their files by path; it imports no stage.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SQL_ROOT = Path(__file__).parent / "sql"
_PROJECT_ROOT = Path(__file__).parent.parent
STAGE_SQL_ROOTS = {stage: _PROJECT_ROOT / stage / "sql"
                   for stage in ("features", "activation", "monitoring", "insight")}
# Folders whose files run statements (ALTER, INSERT, temp tables) rather than define a relation.
NOT_RELATIONS = ("migrations", "queries")

_HEADER = re.compile(r"^--\s*(grain|key):\s*(.+?)\s*$", re.MULTILINE)
_CREATE = re.compile(
    r"create\s+(?:or\s+replace\s+)?(table|view)\s+(?:if\s+not\s+exists\s+)?([a-z_]+\.[a-z_0-9]+)",
    re.IGNORECASE,
)


def sql_path(relative_path: str) -> Path:
    """The file a relative SQL path names: <stage>/sql/<rest> for a stage's own, else under
    warehouse/sql."""
    stage, _, rest = relative_path.partition("/")
    if stage in STAGE_SQL_ROOTS:
        return STAGE_SQL_ROOTS[stage] / rest
    return SQL_ROOT / relative_path


@cache
def read_sql(relative_path: str) -> str:
    """Text of the SQL file `relative_path` names; a missing file is a programming error."""
    return sql_path(relative_path).read_text(encoding="utf-8")


@dataclass(frozen=True)
class TableSpec:
    """What a .sql file says about the relation it creates."""

    path: str
    kind: str  # "table" or "view"
    name: str
    grain: str | None
    key: tuple[str, ...]


def table_spec(relative_path: str) -> TableSpec:
    text = read_sql(relative_path)
    created = _CREATE.search(text)
    if created is None:
        raise ValueError(f"{relative_path} creates no table or view")
    headers = dict(_HEADER.findall(text))
    key_text = headers.get("key", "").strip("() ")
    key = tuple(part.strip() for part in key_text.split(",") if part.strip())
    return TableSpec(relative_path, created.group(1).lower(), created.group(2).lower(),
                     headers.get("grain"), key)


def all_specs() -> list[TableSpec]:
    """Every table/view file except migrations (which alter rather than create) and queries."""
    relative_paths = [str(p.relative_to(SQL_ROOT)) for p in SQL_ROOT.rglob("*.sql")]
    for stage, root in STAGE_SQL_ROOTS.items():
        relative_paths += [f"{stage}/{p.relative_to(root)}" for p in root.rglob("*.sql")]
    return [table_spec(path) for path in sorted(relative_paths)
            if Path(path).parent.name not in NOT_RELATIONS]


def compose_with(source_name: str, source_query: str, query: str) -> str:
    """`query`, which reads `source_name`, with `source_query` defining it as a CTE.

    Joining the texts of two .sql files keeps each readable and testable alone while DuckDB
    streams the whole chain in one statement (a relation with bound parameters would be
    materialised first). Names are our own identifiers, never input.
    """
    return f"with {source_name} as (\n{source_query}\n)\nselect * from (\n{query}\n)"


def compose_query(source_name: str, source_query: str, query: str, target_table: str) -> str:
    """`create temp table <target_table> as <compose_with(...)>`."""
    return (f"create or replace temp table {target_table} as\n"
            + compose_with(source_name, source_query, query))


# DuckDB's readers take a path as a glob: *, ? and [ would match other files (or none).
_GLOB_ESCAPES = str.maketrans({"[": "[[]", "*": "[*]", "?": "[?]"})


def reader_path(path: str | os.PathLike[str]) -> str:
    """`path` as a DuckDB reader (read_csv, read_json, read_parquet) must be given it to read
    exactly that file: each glob character becomes a class of itself (`a[1].csv` ->
    `a[[]1].csv`). The reader's `filename` column still gives the path as it is."""
    return os.fspath(path).translate(_GLOB_ESCAPES)


def compose_insert(target_table: str, source_name: str, source_query: str, query: str) -> str:
    """`insert into <target_table> by name <compose_with(...)>`: like compose_query, but straight
    into a table (its columns matched by name), so rows stream from the reader into it without a
    copy in between."""
    return (f"insert into {target_table} by name\n"
            + compose_with(source_name, source_query, query))
