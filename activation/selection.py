"""Who is in a segment, who is held out, and what the segment looks like in aggregate."""

from __future__ import annotations

import math
from datetime import date

import duckdb
import polars as pl

from activation.definitions import SegmentDefinition
from warehouse.sql_files import read_sql

THEME_PREFIX = "theme_share_90d__"
# Regions with fewer persons than this are reported together as "other", so an interest
# profile never points at a handful of people.
MIN_PERSONS_PER_REGION = 10
PROFILE_TOP_N = 5

def select_segment(population: pl.DataFrame, segment: SegmentDefinition) -> pl.DataFrame:
    """The segment's persons, most likely first.

    `population` holds every scored, eligible person for the as-of date (person_id, id_type,
    score, rank, decile, home_region and the theme_share_90d__* columns).
    """
    frame = population
    where = segment.where
    if where.id_types:
        frame = frame.filter(pl.col("id_type").is_in(where.id_types))
    if where.regions:
        frame = frame.filter(pl.col("home_region").is_in(where.regions))
    if where.theme_affinity:
        columns = [THEME_PREFIX + theme for theme in where.theme_affinity.themes]
        missing = [column for column in columns if column not in frame.columns]
        if missing:
            raise ValueError(f"segment {segment.name!r}: features.person_features has no {missing}")
        affinity = pl.sum_horizontal(pl.col(column).fill_null(0) for column in columns)
        frame = frame.filter(affinity >= where.theme_affinity.min_share)
    frame = frame.sort(["score", "person_id"], descending=[True, False])

    chosen = segment.select
    limits = []
    if chosen.top_fraction is not None:
        limits.append(math.ceil(frame.height * chosen.top_fraction))
    if chosen.top_k is not None:
        limits.append(chosen.top_k)
    if chosen.top_deciles is not None:
        frame = frame.filter(pl.col("decile") <= chosen.top_deciles)
    if chosen.min_score is not None:
        frame = frame.filter(pl.col("score") >= chosen.min_score)
    return frame.head(min(limits)) if limits else frame


def holdout_mask(audience: pl.DataFrame, segment_name: str, as_of: date,
                 fraction: float) -> pl.Series:
    """True for the persons held out of every file of this segment on this date."""
    if fraction <= 0 or audience.is_empty():
        return pl.Series("is_holdout", [False] * audience.height, dtype=pl.Boolean)
    with duckdb.connect() as con:
        con.register("audience", audience.select("person_id").to_arrow())
        draws = con.execute(
            read_sql("activation/queries/holdout_draw.sql"), {"segment": segment_name, "as_of": as_of.isoformat()}
        ).pl()
    ordered = audience.select("person_id").join(draws, on="person_id", how="left",
                                                maintain_order="left")
    return (ordered["draw"] < fraction).alias("is_holdout")


def gains_by_decile(selected: pl.DataFrame) -> list[dict[str, float | int]]:
    """Tenths of the segment by score: persons, mean score, share of expected intents so far."""
    if selected.is_empty():
        return []
    ordered = selected.sort(["score", "person_id"], descending=[True, False]).with_row_index("row")
    tenths = (
        ordered.with_columns(((pl.col("row") * 10) // ordered.height + 1).alias("decile"))
        .group_by("decile")
        .agg(pl.len().alias("persons"), pl.col("score").mean().alias("mean_score"),
             pl.col("score").sum().alias("expected"))
        .sort("decile")
    )
    total = float(tenths["expected"].sum()) or 1.0
    tenths = tenths.with_columns((pl.col("expected").cum_sum() / total).alias("cumulative_gain"))
    return [
        {"decile": int(row["decile"]), "persons": int(row["persons"]),
         "mean_score": round(float(row["mean_score"]), 6),
         "cumulative_gain": round(float(row["cumulative_gain"]), 6)}
        for row in tenths.iter_rows(named=True)
    ]


def interest_profile(selected: pl.DataFrame) -> dict[str, list[dict[str, object]]]:
    """Top themes (mean engagement share) and regions (share of persons); aggregates only."""
    if selected.is_empty():
        return {"themes": [], "regions": []}
    theme_columns = [c for c in selected.columns if c.startswith(THEME_PREFIX)]
    themes = []
    if theme_columns:
        means = selected.select(pl.col(theme_columns).fill_null(0).mean()).row(0, named=True)
        themes = [{"theme": column.removeprefix(THEME_PREFIX), "share": round(float(value), 4)}
                  for column, value in sorted(means.items(), key=lambda kv: (-kv[1], kv[0]))
                  [:PROFILE_TOP_N]]
    regions = []
    if "home_region" in selected.columns:
        counts = (
            selected.group_by(pl.col("home_region").fill_null("unknown").alias("region"))
            .agg(pl.len().alias("persons"))
            .with_columns(pl.when(pl.col("persons") < MIN_PERSONS_PER_REGION)
                          .then(pl.lit("other")).otherwise(pl.col("region")).alias("region"))
            .group_by("region").agg(pl.col("persons").sum())
            .sort(["persons", "region"], descending=[True, False])
            .head(PROFILE_TOP_N)
        )
        regions = [{"region": row["region"], "share": round(row["persons"] / selected.height, 4)}
                   for row in counts.iter_rows(named=True)]
    return {"themes": themes, "regions": regions}
