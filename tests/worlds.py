"""Small synthetic worlds for the feature and model tests, written straight into raw tables.

Each person has a hidden readiness to move that drifts over time and an affinity for job
content; both raise engagement and intent, so a model has something real to learn. Everything
is vectorised and deterministic by seed.
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import polars as pl

from core.contract import DEVICES, ENGAGEMENT_EVENT_TYPES, ID_TYPES, INTENT_EVENT_TYPES, THEMES
from warehouse.db import open_warehouse

WORLD_START = date(2026, 1, 1)
JOB_THEMES = ("engineering_jobs", "tech_jobs", "healthcare_jobs", "education_jobs",
              "public_sector_jobs")
MUNICIPALITIES = ("Luleå", "Boden", "Kiruna", "Piteå", "Skellefteå")
REGIONS = ("SE-AB", "SE-O", "SE-M", "SE-BD", "DE", "NL")
CHANNELS = ("meta", "instagram", "youtube", "tiktok", "web")


def catalog_frame(n_contents: int = 40, seed: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    themes = []
    for i in range(n_contents):
        # every fourth item is about jobs, so job interest is visible in the themes
        first = JOB_THEMES[i % len(JOB_THEMES)] if i % 4 == 0 else THEMES[i % len(THEMES)]
        extra = list(rng.choice(THEMES, size=rng.integers(0, 3), replace=False))
        themes.append(sorted({first, *extra}))
    kinds = np.where(np.arange(n_contents) % 3 == 0, "image", "film")
    return pl.DataFrame({
        "content_id": [f"content_{i:03d}" for i in range(n_contents)],
        "kind": kinds,
        "title": [f"Film {i}" for i in range(n_contents)],
        "duration_seconds": pl.Series(np.where(kinds == "film", rng.uniform(30, 180, n_contents),
                                               np.nan)).fill_nan(None),
        "themes": themes,
        "municipality": [MUNICIPALITIES[i % len(MUNICIPALITIES)] for i in range(n_contents)],
        "published_at": [datetime(2025, 12, 1)] * n_contents,
        "loaded_at": [datetime(2026, 1, 1)] * n_contents,
    })


def events_frame(n_persons: int = 3000, n_days: int = 70, seed: int = 7,
                 n_contents: int = 40) -> pl.DataFrame:
    """Engagement and intent events of `n_persons` over `n_days` from WORLD_START."""
    rng = np.random.default_rng(seed)
    readiness = rng.beta(1.0, 6.0, n_persons)
    drift = rng.normal(0, 1.0, n_persons)
    job_affinity = rng.uniform(0, 1, n_persons)
    days = np.arange(n_days)
    readiness_by_day = readiness[:, None] * np.exp(drift[:, None] * (days[None, :] / n_days - 0.5))
    engagement_counts = rng.poisson(0.1 + 3.0 * readiness_by_day)
    intent_counts = rng.poisson(0.04 * readiness_by_day * (0.3 + 2.0 * job_affinity[:, None]))

    frames = []
    for counts, kinds in ((engagement_counts, ENGAGEMENT_EVENT_TYPES),
                          (intent_counts, INTENT_EVENT_TYPES)):
        person, day = np.nonzero(counts)
        repeat = counts[person, day]
        person, day = np.repeat(person, repeat), np.repeat(day, repeat)
        n = len(person)
        job_content = rng.uniform(size=n) < job_affinity[person]
        content = np.where(job_content, rng.integers(0, n_contents // 4, n) * 4,
                           rng.integers(0, n_contents, n))
        event_type = np.asarray(kinds)[rng.integers(0, len(kinds), n)]
        frames.append(pl.DataFrame({
            "person_index": person, "day": day, "second": rng.integers(0, 86400, n),
            "event_type": event_type,
            "content_id": [f"content_{c:03d}" for c in content],
            "watch_seconds": pl.Series(np.where(event_type == "video_progress",
                                                rng.uniform(5, 120, n), np.nan)).fill_nan(None),
            "municipality": np.asarray(MUNICIPALITIES)[rng.integers(0, len(MUNICIPALITIES), n)],
        }))
    events = pl.concat(frames).sort("day", "second", "person_index")
    start = datetime.combine(WORLD_START, datetime.min.time())
    person = pl.col("person_index")
    is_intent = pl.col("event_type").is_in(INTENT_EVENT_TYPES)
    return events.with_row_index("row").select(
        pl.format("ev_{}_{}", pl.lit(seed), pl.col("row")).alias("event_id"),
        (pl.lit(start) + pl.duration(days=pl.col("day"), seconds=pl.col("second")))
        .alias("occurred_at"),
        pl.format("person_{}", person.cast(pl.String).str.zfill(6)).alias("person_id"),
        pl.lit(pl.Series(ID_TYPES)).gather(person % len(ID_TYPES)).alias("id_type"),
        pl.col("event_type"),
        pl.when(is_intent).then(None).otherwise(pl.col("content_id")).alias("content_id"),
        pl.format("campaign_{}", person % 3).alias("campaign_id"),
        pl.lit(pl.Series(CHANNELS)).gather((person + pl.col("day")) % len(CHANNELS))
        .alias("channel"),
        pl.col("watch_seconds"),
        pl.lit(pl.Series(REGIONS)).gather(person % len(REGIONS)).alias("region"),
        pl.lit(pl.Series(DEVICES)).gather(person % 3).alias("device"),
        pl.lit(True).alias("consent"),
        pl.when(is_intent).then(pl.col("municipality")).otherwise(None).alias("municipality"),
        pl.lit("test-world").alias("file_sha256"),
    )


def insert_events(warehouse_path, events: pl.DataFrame) -> None:
    with open_warehouse(warehouse_path) as con:
        con.register("new_events", events.to_arrow())
        con.execute("insert into raw.events by name select * from new_events")
        con.unregister("new_events")


def write_world(warehouse_path, n_persons: int = 3000, n_days: int = 70, seed: int = 7,
                events: pl.DataFrame | None = None) -> None:
    """A warehouse holding the catalog and the events of a synthetic world (`events` when
    given, as a test altered them, else the world's own)."""
    with open_warehouse(warehouse_path) as con:
        con.register("new_catalog", catalog_frame().to_arrow())
        con.execute("insert into raw.content_catalog by name select * from new_catalog")
        con.unregister("new_catalog")
    insert_events(warehouse_path,
                  events_frame(n_persons, n_days, seed) if events is None else events)


def event_row(event_id: str, occurred_at: str, person_id: str = "person_aaaa",
              event_type: str = "view", content_id: str | None = "content_001", consent: bool = True, watch_seconds=None,
              region: str | None = "SE-AB", municipality: str | None = None,
              id_type: str = "cookie") -> dict:
    """One event as raw.events holds it, for hand-written cases."""
    return {
        "event_id": event_id, "occurred_at": datetime.fromisoformat(occurred_at),
        "person_id": person_id, "id_type": id_type, "event_type": event_type,
        "content_id": content_id, "campaign_id": "campaign_1", "channel": "meta",
        "watch_seconds": watch_seconds, "region": region, "device": "mobile", "consent": consent,
        "municipality": municipality, "file_sha256": "test",
    }


def events_of(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema_overrides={"watch_seconds": pl.Float64,
                                                "content_id": pl.String,
                                                "municipality": pl.String,
                                                "region": pl.String})


def warehouse_with(tmp_path, rows: list[dict]):
    """A warehouse holding the catalog and exactly `rows` as its events."""
    path = tmp_path / "warehouse.duckdb"
    with open_warehouse(path) as con:
        con.register("new_catalog", catalog_frame().to_arrow())
        con.execute("insert into raw.content_catalog by name select * from new_catalog")
    insert_events(path, events_of(rows))
    return path
