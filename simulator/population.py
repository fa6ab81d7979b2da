"""The simulated people and the content they see: hidden traits, catalog, and the intent hazard.

Everything a person does is driven by hidden state only: theme affinities, home region,
openness, activity, and a readiness to move that drifts day by day (AR(1) with occasional
jumps, a life event). The daily intent hazard is a function of that state alone, so the
probability of intent in a window given the state at its start is known (simulator.truth).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl

from core.contract import DEVICES, ID_TYPES, INTENT_EVENT_TYPES, THEMES
from simulator.ids import cookie_ids, maid_ids, publisher_ids

JOB_THEMES = (
    "green_industry", "engineering_jobs", "tech_jobs", "healthcare_jobs", "education_jobs",
    "public_sector_jobs",
)
JOB_THEME_MASK = np.array([theme in JOB_THEMES for theme in THEMES])

# Intent types are a fixed thinning of one Poisson process, so any subset of types is again
# Poisson with the hazard scaled by the subset's share.
INTENT_TYPE_SHARES = {
    "job_click": 0.45, "signup": 0.20, "guide_download": 0.15, "inquiry": 0.12,
    "fair_registration": 0.08,
}
assert tuple(sorted(INTENT_TYPE_SHARES)) == tuple(sorted(INTENT_EVENT_TYPES))

REGIONS = (
    "SE-AB", "SE-O", "SE-M", "SE-E", "SE-C", "SE-F", "SE-H", "SE-U", "SE-D", "SE-T", "SE-S",
    "SE-W", "SE-X", "SE-BD", "SE-AC", "SE-Y", "DE", "NL", "FR", "NO", "FI", "PL", "GB", "ES",
)
REGION_WEIGHTS = np.array([
    33, 15, 12, 4, 4, 3, 2, 3, 2, 2, 2, 2, 2, 3, 2, 1, 2.0, 1.5, 1.0, 1.5, 1.5, 1.0, 1.0, 0.5,
])
NORTHERN_REGIONS = ("SE-BD", "SE-AC", "SE-Y")

MUNICIPALITIES = (
    "Luleå", "Boden", "Kiruna", "Gällivare", "Piteå", "Kalix", "Haparanda", "Jokkmokk",
    "Arvidsjaur", "Älvsbyn", "Skellefteå", "Umeå", "Lycksele", "Vännäs", "Robertsfors",
    "Örnsköldsvik", "Kramfors", "Härnösand", "Sundsvall", "Sollefteå", "Timrå",
)
MUNICIPALITY_WEIGHTS = np.array([
    8, 3, 3, 2, 4, 2, 1, 1, 1, 1, 7, 10, 1, 1, 1, 4, 2, 2, 7, 1, 2,
], dtype=float)

CHANNELS = (
    "meta", "instagram", "youtube", "google", "tiktok", "linkedin", "snapchat", "schibsted",
    "bonnier", "programmatic", "web", "email",
)
CHANNEL_WEIGHTS = np.array([18, 14, 12, 10, 8, 8, 4, 6, 5, 7, 5, 3], dtype=float)
ID_TYPE_WEIGHTS = np.array([0.2, 0.7, 0.1])  # cookie, maid, publisher (order of ID_TYPES)
DEVICE_WEIGHTS = np.array([0.62, 0.25, 0.07, 0.04, 0.02])  # order of DEVICES
assert len(REGION_WEIGHTS) == len(REGIONS) and len(CHANNEL_WEIGHTS) == len(CHANNELS)
assert len(MUNICIPALITY_WEIGHTS) == len(MUNICIPALITIES) and len(DEVICE_WEIGHTS) == len(DEVICES)

READINESS_PERSISTENCE = 0.97
READINESS_JUMP_PROBABILITY = 0.004
READINESS_JUMP_SIZE = 2.0
# Calibrated so that about 5% of persons have an intent event within 14 days.
HAZARD_INTERCEPT = -6.5
HAZARD_READINESS = 0.9
HAZARD_JOB_AFFINITY = 3.0
HAZARD_OPENNESS = 2.0
HAZARD_NORTHERN = 0.3
HAZARD_ABROAD = -0.3
MEAN_IMPRESSIONS_PER_DAY = 0.36


@dataclass(frozen=True)
class Population:
    """Hidden traits, one entry per person (arrays aligned by person index)."""

    person_id: np.ndarray
    id_type: np.ndarray  # index into ID_TYPES
    region: np.ndarray  # index into REGIONS
    device: np.ndarray  # primary device, index into DEVICES
    channel_cdf: np.ndarray  # (persons, channels) cumulative channel preference
    affinity: np.ndarray  # (persons, themes), rows sum to 1
    openness: np.ndarray
    activity: np.ndarray  # expected impressions per day at neutral readiness
    favourite_municipality: np.ndarray  # index into MUNICIPALITIES
    consent_withdrawn_day: np.ndarray  # day index, or -1
    consent_regranted_day: np.ndarray  # day index after withdrawal, or -1

    @property
    def size(self) -> int:
        return len(self.person_id)

    @property
    def job_affinity(self) -> np.ndarray:
        return self.affinity[:, JOB_THEME_MASK].sum(axis=1)

    def hazard_baseline(self) -> np.ndarray:
        """The log-hazard of intent without the readiness term (constant per person)."""
        region_codes = np.array(REGIONS)[self.region]
        is_northern = np.isin(region_codes, NORTHERN_REGIONS)
        is_abroad = ~np.char.startswith(region_codes.astype(str), "SE-")
        return (
            HAZARD_INTERCEPT
            + HAZARD_JOB_AFFINITY * (self.job_affinity - JOB_THEME_MASK.mean())
            + HAZARD_OPENNESS * (self.openness - 0.3)
            + HAZARD_NORTHERN * is_northern
            + HAZARD_ABROAD * is_abroad
        )

    def consent_on(self, day: int) -> np.ndarray:
        """Consent of every person on day index `day`."""
        withdrawn = (self.consent_withdrawn_day >= 0) & (self.consent_withdrawn_day <= day)
        regranted = (self.consent_regranted_day >= 0) & (self.consent_regranted_day <= day)
        return ~withdrawn | regranted


def make_population(rng: np.random.Generator, persons: int, days: int) -> Population:
    """Draw every person's hidden traits."""
    id_type = rng.choice(len(ID_TYPES), size=persons, p=ID_TYPE_WEIGHTS)
    person_id = np.empty(persons, dtype="U36")
    makers = {"cookie": cookie_ids, "maid": maid_ids, "publisher": publisher_ids}
    for index, name in enumerate(ID_TYPES):
        chosen = id_type == index
        person_id[chosen] = makers[name](rng, int(chosen.sum()))
    if len(np.unique(person_id)) != persons:
        raise RuntimeError("person id collision; choose another seed")

    channel_preference = rng.dirichlet(CHANNEL_WEIGHTS / CHANNEL_WEIGHTS.sum() * 6, size=persons)
    affinity = rng.dirichlet(np.full(len(THEMES), 0.35), size=persons).astype(np.float32)

    withdraws = rng.random(persons) < 0.02
    withdrawn_day = np.where(withdraws, rng.integers(days // 5, max(days - 1, days // 5 + 1),
                                                     size=persons), -1)
    regrants = withdraws & (rng.random(persons) < 0.2)
    regrant_gap = rng.integers(3, 30, size=persons)
    regranted_day = np.where(regrants & (withdrawn_day + regrant_gap < days),
                             withdrawn_day + regrant_gap, -1)

    return Population(
        person_id=person_id,
        id_type=id_type.astype(np.int8),
        region=rng.choice(len(REGIONS), size=persons,
                          p=REGION_WEIGHTS / REGION_WEIGHTS.sum()).astype(np.int16),
        device=rng.choice(len(DEVICES), size=persons, p=DEVICE_WEIGHTS).astype(np.int8),
        channel_cdf=np.cumsum(channel_preference, axis=1).astype(np.float32),
        affinity=affinity,
        openness=rng.beta(2.0, 5.0, size=persons).astype(np.float32),
        activity=rng.lognormal(np.log(MEAN_IMPRESSIONS_PER_DAY) - 0.5, 1.0,
                               size=persons).astype(np.float32),
        favourite_municipality=rng.choice(
            len(MUNICIPALITIES), size=persons,
            p=MUNICIPALITY_WEIGHTS / MUNICIPALITY_WEIGHTS.sum()).astype(np.int16),
        consent_withdrawn_day=withdrawn_day.astype(np.int32),
        consent_regranted_day=regranted_day.astype(np.int32),
    )


def next_readiness(rng: np.random.Generator, readiness: np.ndarray) -> np.ndarray:
    """One day of the AR(1) readiness walk (stationary variance 1 without the jumps) with rare
    upward jumps, which lift its long-run mean to p·size/(1 - persistence)."""
    noise_scale = np.sqrt(1.0 - READINESS_PERSISTENCE**2)
    jumps = (rng.random(readiness.shape) < READINESS_JUMP_PROBABILITY) * READINESS_JUMP_SIZE
    return (READINESS_PERSISTENCE * readiness
            + noise_scale * rng.standard_normal(readiness.shape) + jumps).astype(np.float32)


def readiness_process_parameters() -> dict[str, float]:
    """The readiness walk and its effect on the hazard, as next_readiness and daily_hazard use
    them now (read at call time, so truth.json records the values a world was made with)."""
    return {
        "persistence": READINESS_PERSISTENCE,
        "innovation_sd": float(np.sqrt(1.0 - READINESS_PERSISTENCE**2)),
        "jump_probability": READINESS_JUMP_PROBABILITY,
        "jump_size": READINESS_JUMP_SIZE,
        "hazard_readiness": HAZARD_READINESS,
    }


def daily_hazard(baseline: np.ndarray, readiness: np.ndarray) -> np.ndarray:
    """Expected number of intent events that day (all intent types together)."""
    return np.exp(baseline + HAZARD_READINESS * readiness).astype(np.float32)


@dataclass(frozen=True)
class Catalog:
    frame: pl.DataFrame
    is_film: np.ndarray
    duration_seconds: np.ndarray  # 0 for images
    themes: np.ndarray  # (items, themes) float32 indicator
    items_by_theme: np.ndarray  # flat item indices grouped by theme
    theme_offsets: np.ndarray  # start of each theme's group in items_by_theme
    theme_counts: np.ndarray

    @property
    def size(self) -> int:
        return len(self.is_film)

    @property
    def is_job_content(self) -> np.ndarray:
        return self.themes[:, JOB_THEME_MASK].any(axis=1)


_TITLE_PATTERNS = ("{theme} in {place}", "{place}: {theme}", "A week of {theme} in {place}")


def make_catalog(rng: np.random.Generator, first_day: date, films: int = 100,
                 images: int = 50) -> Catalog:
    """Films and images, each with 1-4 theme tags (every theme used at least once)."""
    items = films + images
    theme_matrix = np.zeros((items, len(THEMES)), dtype=np.float32)
    for item in range(items):
        extra = rng.choice(len(THEMES), size=rng.integers(0, 4), replace=False)
        theme_matrix[item, item % len(THEMES)] = 1.0
        theme_matrix[item, extra] = 1.0
    is_film = np.arange(items) < films
    duration = np.where(is_film, np.clip(np.round(rng.lognormal(np.log(75), 0.6, items)), 15,
                                          300), 0).astype(np.int32)
    place = rng.choice(len(MUNICIPALITIES), size=items,
                       p=MUNICIPALITY_WEIGHTS / MUNICIPALITY_WEIGHTS.sum())
    epoch_day = datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC)
    published = [epoch_day - timedelta(days=int(back), seconds=int(second))
                 for back, second in zip(rng.integers(1, 400, items),
                                         rng.integers(0, 86400, items))]
    content_ids = [f"film-{i + 1:03d}" for i in range(films)] + \
                  [f"img-{i + 1:03d}" for i in range(images)]
    theme_lists = [[THEMES[t] for t in np.flatnonzero(row)] for row in theme_matrix]
    titles = [
        _TITLE_PATTERNS[i % len(_TITLE_PATTERNS)].format(
            theme=themes[0].replace("_", " ").capitalize(), place=MUNICIPALITIES[place[i]])
        for i, themes in enumerate(theme_lists)
    ]
    frame = pl.DataFrame({
        "content_id": content_ids,
        "kind": ["film" if film else "image" for film in is_film],
        "title": titles,
        "duration_seconds": [int(d) if film else None for d, film in zip(duration, is_film)],
        "themes": ["|".join(themes) for themes in theme_lists],
        "municipality": [MUNICIPALITIES[p] for p in place],
        "published_at": [moment.strftime("%Y-%m-%dT%H:%M:%SZ") for moment in published],
    })
    items_by_theme = np.concatenate([np.flatnonzero(theme_matrix[:, t])
                                     for t in range(len(THEMES))])
    theme_counts = theme_matrix.sum(axis=0).astype(np.int64)
    theme_offsets = np.concatenate([[0], np.cumsum(theme_counts)[:-1]])
    return Catalog(frame=frame, is_film=is_film, duration_seconds=duration, themes=theme_matrix,
                   items_by_theme=items_by_theme, theme_offsets=theme_offsets,
                   theme_counts=theme_counts)
