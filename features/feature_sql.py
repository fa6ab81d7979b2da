"""The feature SQL generated from the catalog: the DDL of features.person_features, the casts of
its insert, and the repetitive window x event-type x theme columns of the intermediate tables.

The intermediate tables' .sql files are templates: a `{placeholder}` on a line of its own stands
for a list of generated select items (each ending in a comma), one inline for a list of
literals. Everything composed into them is our own: names and kinds from the catalog, checked
against a plain identifier pattern, and whole-day windows. Values are still bound ($as_of).
"""

from __future__ import annotations

import re
from pathlib import Path

from core.contract import ENGAGEMENT_EVENT_TYPES
from features.catalog import CATALOG, DESCRIPTIVE_COLUMNS, KEY_COLUMNS, FeatureCatalog
from warehouse.sql_files import read_sql, sql_path

PERSON_FEATURES_DDL = "features/person_features.sql"
# The days each intermediate table scans before as_of: a window this long needs no condition.
SCAN_DAYS = 90
# Every engagement counted in n_engagements_<N>d: the event types other than being shown.
COUNTED_ENGAGEMENT_TYPES = tuple(t for t in ENGAGEMENT_EVENT_TYPES if t != "impression")
# The keys and descriptive columns of features.person_features (every feature is a double).
_NON_FEATURE_COLUMN_TYPES = {
    "person_id": "varchar not null",
    "id_type": "varchar not null",
    "as_of_date": "date not null",
    "home_region": "varchar",
    "top_municipality_shown_90d": "varchar",
}
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
_SQL_TYPES = ("double",)
_INDENT = " " * 8


def _name(text: str | None) -> str:
    """`text` if it is a plain lower-case identifier, fit to compose into SQL."""
    if text is None or not _IDENTIFIER.match(text):
        raise ValueError(f"not a plain identifier: {text!r}")
    return text


def _literal(text: str | None) -> str:
    return f"'{_name(text)}'"


def _days(days: int | None) -> int:
    if not isinstance(days, int) or not 0 < days <= SCAN_DAYS:
        raise ValueError(f"a window must be 1 to {SCAN_DAYS} days, not {days!r}")
    return days


def _within(days: int | None, days_ago: str = "days_ago") -> str:
    """The condition that an event falls in the last `days` days (none for the whole scan)."""
    return "" if _days(days) == SCAN_DAYS else f" and {days_ago} <= {days}"


def _count(condition: str, days: int | None) -> str:
    return f"count(case when {condition}{_within(days)} then 1 end)"


def _select_items(expressions: dict[str, str]) -> str:
    """`expression as alias` lines, comma-separated, for a template's select list."""
    if not expressions:
        raise ValueError("the catalog declares none of a template's generated columns")
    return ",\n".join(f"{_INDENT}{expression}" if expression == _name(alias)
                       else f"{_INDENT}{expression} as {alias}"
                       for alias, expression in expressions.items())


def _render(relative_path: str, **fragments: str) -> str:
    return read_sql(relative_path).format(**fragments)


def _active_days(days: int) -> str:
    """Set bits of the day masks within `days` (bit d - 1 of the 1-63 mask is day d)."""
    if days <= 63:
        return f"bit_count(active_days_mask_1_63 & {2 ** days - 1})"
    if days == SCAN_DAYS:
        return "bit_count(active_days_mask_1_63) + bit_count(active_days_mask_64_90)"
    return (f"bit_count(active_days_mask_1_63) "
            f"+ bit_count(active_days_mask_64_90 & {2 ** (days - 63) - 1})")


class _EngagementColumns:
    """The generated columns of person_engagement_90d, each aggregate added once."""

    def __init__(self) -> None:
        self.counts: dict[str, str] = {}
        self.totals: dict[str, str] = {}
        self.columns: dict[str, str] = {}

    def event_count(self, event_type: str | None, days: int | None) -> str:
        alias = f"n_{_name(event_type)}_{_days(days)}d"
        self.counts[alias] = _count(f"event_type = {_literal(event_type)}", days)
        return alias

    def engagements(self, days: int | None) -> str:
        alias = f"n_engagements_{_days(days)}d"
        self.totals[alias] = " + ".join(self.event_count(event_type, days)
                                        for event_type in COUNTED_ENGAGEMENT_TYPES)
        return alias

    def category_count(self, column: str, value: str | None) -> str:
        alias = f"n_{column}_{_name(value)}_{SCAN_DAYS}d"
        self.counts[alias] = _count(f"{column} = {_literal(value)}", SCAN_DAYS)
        return alias


def engagement_sql(catalog: FeatureCatalog = CATALOG) -> str:
    """features/person_engagement_90d.sql with the catalog's engagement columns."""
    parts = _EngagementColumns()
    channels = []
    for feature in catalog.of_table("engagement"):
        kind, days = feature.kind, feature.window_days
        if kind == "hand_written":
            continue
        if kind == "event_count":
            expression = parts.event_count(feature.event_type, days)
        elif kind == "engagement_count":
            expression = parts.engagements(days)
        elif kind == "intent_count":
            parts.counts[feature.name] = _count("is_intent", days)
            expression = feature.name
        elif kind == "watch_seconds":
            watched = ("watch_seconds" if _days(days) == SCAN_DAYS
                       else f"case when days_ago <= {days} then watch_seconds end")
            parts.counts[feature.name] = f"coalesce(sum({watched}), 0)"
            expression = feature.name
        elif kind == "active_days":
            parts.totals[feature.name] = _active_days(_days(days))
            expression = feature.name
        elif kind == "engagement_rate":
            expression = (f"{parts.engagements(days)} / "
                          f"nullif({parts.event_count('impression', days)}, 0)")
        elif kind == "click_rate":
            expression = (f"{parts.event_count('click', days)} / nullif("
                          f"{parts.event_count('impression', days)} + "
                          f"{parts.event_count('view', days)}, 0)")
        elif kind == "view_rate":
            expression = (f"{parts.event_count('view', days)} / "
                          f"nullif({parts.event_count('impression', days)}, 0)")
        elif kind in ("engagement_trend", "impression_trend"):
            recent, whole = ((parts.engagements(days), parts.engagements(SCAN_DAYS))
                             if kind == "engagement_trend"
                             else (parts.event_count("impression", days),
                                   parts.event_count("impression", SCAN_DAYS)))
            expression = f"({recent} + 1) / ({whole} * {days} / {SCAN_DAYS} + 1)"
        elif kind == "channel_share":
            channels.append(parts.category_count("channel", feature.channel))
            expression = f"{channels[-1]} / n_events_{SCAN_DAYS}d"
        elif kind == "device_share":
            expression = f"{parts.category_count('device', feature.device)} / n_events_{SCAN_DAYS}d"
        elif kind == "channel_count":
            continue  # below, once every channel is counted
        else:
            raise ValueError(f"{feature.name}: no engagement feature is of kind {kind!r}")
        parts.columns[feature.name] = expression
    for feature in catalog.of_table("engagement"):
        if feature.kind == "channel_count":
            if _days(feature.window_days) != SCAN_DAYS or not channels:
                raise ValueError(f"{feature.name}: channels are counted over the whole scan")
            parts.columns[feature.name] = " + ".join(f"({alias} > 0)::integer"
                                                     for alias in channels)
    return _render("features/person_engagement_90d.sql",
                   counts=_select_items(parts.counts), totals=_select_items(parts.totals),
                   columns=_select_items(parts.columns))


def themes_sql(catalog: FeatureCatalog = CATALOG) -> str:
    """features/person_themes_90d.sql with the catalog's theme and job-content columns."""
    themes = [_name(theme) for theme in catalog.themes]
    job_themes = [_name(theme) for theme in catalog.job_themes]
    if not themes or not job_themes:
        raise ValueError("the themes SQL needs at least one theme and one job-content theme")
    counts: dict[str, str] = {}
    columns: dict[str, str] = {}
    other_theme_counts: dict[str, str] = {}

    def engagements(days: int | None, theme: str | None = None) -> str:
        if theme is None:
            alias, condition = f"n_engagements_{_days(days)}d", "is_engagement"
        else:
            alias = f"n_engagements_{_days(days)}d__{_name(theme)}"
            condition = f"is_engagement and has_theme_{theme}"
        counts[alias] = _count(condition, days)
        return f"per_person.{alias}"

    def job_count(alias: str, condition: str, days: int | None) -> str:
        counts[alias] = _count(f"is_job_content and {condition}", days)
        return f"per_person.{alias}"

    for feature in catalog.of_table("themes"):
        kind, days = feature.kind, feature.window_days
        if kind == "hand_written":
            continue
        if kind == "theme_share":
            expression = (f"{engagements(days, feature.theme)} / "
                          f"nullif({engagements(days)}, 0)")
        elif kind == "theme_engagements":
            expression = engagements(days, feature.theme)
        elif kind == "theme_count":
            # Contract themes come from their flags; other tags from per_person_other_themes.
            other = f"n_other_themes_{_days(days)}d"
            other_theme_counts[other] = (
                "count(distinct other_themes.theme)" if days == SCAN_DAYS else
                f"count(distinct case when events.days_ago <= {days} then other_themes.theme end)")
            expression = "\n            + ".join(
                [f"({engagements(days, theme)} > 0)::integer" for theme in themes]
                + [f"coalesce(per_person_other_themes.{other}, 0)"])
        elif kind == "job_share":
            expression = (f"{job_count(f'job_engagements_{_days(days)}d', 'is_engagement', days)}"
                          f" / nullif({engagements(days)}, 0)")
        elif kind == "job_engagements":
            expression = job_count(feature.name, "is_engagement", days)
        elif kind in ("job_view_rate", "job_click_rate"):
            event_type = "view" if kind == "job_view_rate" else "click"
            numerator = job_count(f"job_{event_type}s_{_days(days)}d",
                                  f"event_type = {_literal(event_type)}", days)
            impressions = job_count(f"job_impressions_{days}d", "event_type = 'impression'", days)
            expression = f"{numerator} / nullif({impressions}, 0)"
        else:
            raise ValueError(f"{feature.name}: no themes feature is of kind {kind!r}")
        columns[feature.name] = expression
    theme_flags = {f"has_theme_{theme}": f"coalesce(bool_or(themes.theme = {_literal(theme)}), false)"
                   for theme in themes}
    return _render(
        "features/person_themes_90d.sql",
        job_themes=", ".join(_literal(theme) for theme in job_themes),
        theme_flags=_select_items(theme_flags),
        themes=", ".join(_literal(theme) for theme in themes),
        counts=_select_items(counts),
        other_theme_counts=_select_items(other_theme_counts),
        columns=_select_items(columns),
    )


def insert_sql(catalog: FeatureCatalog = CATALOG) -> str:
    """features/queries/insert_person_features.sql with one cast per catalog feature."""
    casts = {}
    for feature in catalog.features:
        if feature.sql_type not in _SQL_TYPES:
            raise ValueError(f"{feature.name}: a feature is one of {_SQL_TYPES}")
        column = f"{_name(feature.table)}.{_name(feature.name)}"
        if feature.when_absent is not None:
            column = f"coalesce({column}, {int(feature.when_absent)})"
        casts[feature.name] = f"{column}::{feature.sql_type}"
    return _render("features/queries/insert_person_features.sql",
                   feature_columns=_select_items(casts))


def person_features_ddl(catalog: FeatureCatalog = CATALOG) -> str:
    """The DDL of features.person_features (written to features/sql/person_features.sql for the
    warehouse's migrations, which cannot import this stage)."""
    columns = [f"    {name} {_NON_FEATURE_COLUMN_TYPES[name]}"
               for name in (*KEY_COLUMNS, *DESCRIPTIVE_COLUMNS)]
    columns += [f"    {_name(feature.name)} {feature.sql_type}" for feature in catalog.features]
    return (
        "-- grain: one row per eligible person per as-of date\n"
        "-- key: (person_id, as_of_date)\n"
        "-- Point-in-time interest features. GENERATED from features/catalog.py: do not edit;\n"
        "-- rewrite it with `uv run --locked python -m features.feature_sql` (a test checks).\n"
        "-- A build replaces the rows of its as_of_date with\n"
        "-- features/queries/insert_person_features.sql.\n"
        "create table features.person_features (\n" + ",\n".join(columns) + "\n);\n"
    )


def write_person_features_ddl() -> Path:
    """Rewrite the DDL file from the catalog (after a feature is added, removed or renamed)."""
    path = sql_path(PERSON_FEATURES_DDL)
    path.write_text(person_features_ddl(), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(f"wrote {write_person_features_ddl()}")
