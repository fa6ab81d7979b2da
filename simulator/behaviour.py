"""Day-by-day behaviour: readiness evolves, engagement and intent events follow from hidden state.

Vectorised per day over all persons; no Python loop ever runs per event. Engagement depends on
how well content themes match a person's affinities and, for job content, on readiness, so
engagement is informative about the (hidden) readiness that drives intent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.contract import DEVICES, EVENT_TYPES, INTENT_EVENT_TYPES
from simulator.planted_films import NO_PLANTED_FILMS, Keenness, PlantedFilms, StrongFilmEffect
from simulator.population import (
    CHANNELS,
    INTENT_TYPE_SHARES,
    MUNICIPALITIES,
    MUNICIPALITY_WEIGHTS,
    Catalog,
    Population,
    daily_hazard,
    next_readiness,
)

SECONDS_PER_DAY = 86_400
READINESS_ON_ACTIVITY = 0.4
READINESS_ON_JOB_CONTENT = 1.0
CAMPAIGNS_PER_CHANNEL = 3
EVENT_TYPE_INDEX = {name: index for index, name in enumerate(EVENT_TYPES)}
INTENT_TYPE_INDICES = np.array([EVENT_TYPE_INDEX[name] for name in INTENT_EVENT_TYPES])
INTENT_TYPE_PROBABILITIES = np.array([INTENT_TYPE_SHARES[name] for name in INTENT_EVENT_TYPES])
CHANNEL_INDEX = {name: index for index, name in enumerate(CHANNELS)}

EVENT_DTYPES = {
    "person": np.int32, "second": np.int64, "event_type": np.int8, "content": np.int16,
    "channel": np.int8, "campaign": np.int16, "watch": np.float32, "device": np.int8,
    "consent": bool, "municipality": np.int16, "region_known": bool,
}
EVENT_COLUMNS = tuple(EVENT_DTYPES)


def campaign_names(year: int) -> list[str]:
    """Campaign ids by index channel * CAMPAIGNS_PER_CHANNEL + k."""
    return [f"norrut-{year}-{channel}-{k + 1}" for channel in CHANNELS
            for k in range(CAMPAIGNS_PER_CHANNEL)]


@dataclass
class SimulatedHistory:
    events: dict[str, np.ndarray]  # inbox events, columns EVENT_COLUMNS, sorted by time
    hazard: np.ndarray  # (persons, total_days) float32
    intents: dict[str, np.ndarray]  # every intent event incl. future days: person, day, type


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _pick_content(rng: np.random.Generator, population: Population, catalog: Catalog,
                  person: np.ndarray) -> np.ndarray:
    """Mostly content on a theme the person likes (targeting), some broad reach."""
    theme_cdf = np.cumsum(population.affinity[person], axis=1)
    theme = (theme_cdf < rng.random((len(person), 1), dtype=np.float32)).sum(axis=1)
    theme = np.minimum(theme, theme_cdf.shape[1] - 1)
    within = (rng.random(len(person)) * catalog.theme_counts[theme]).astype(np.int64)
    targeted = catalog.items_by_theme[catalog.theme_offsets[theme] + within]
    broad = rng.integers(0, catalog.size, size=len(person))
    return np.where(rng.random(len(person)) < 0.35, broad, targeted)


def _engagement_for_day(rng: np.random.Generator, population: Population, catalog: Catalog,
                        readiness: np.ndarray, day_start: int,
                        activity_factor: float = 1.0,
                        planted: PlantedFilms = NO_PLANTED_FILMS,
                        keen: np.ndarray | None = None) -> list[dict[str, np.ndarray]]:
    """The day's engagement events; `keen` is each person's keenness (simulator.planted_films),
    needed only when a keen-viewers film is planted."""
    rate = population.activity * np.exp(READINESS_ON_ACTIVITY * readiness)
    if activity_factor != 1.0:  # only a planted shift touches the rate (default worlds unchanged)
        rate = rate * np.float32(activity_factor)
    person = np.repeat(np.arange(population.size, dtype=np.int32), rng.poisson(rate))
    shown = len(person)
    content = planted.shown_instead(rng, _pick_content(rng, population, catalog, person))
    match = (population.affinity[person] * catalog.themes[content]).sum(axis=1)
    ready = readiness[person]
    job = catalog.is_job_content[content]
    channel = (population.channel_cdf[person] < rng.random((shown, 1), dtype=np.float32)).sum(1)
    channel = np.minimum(channel, len(CHANNELS) - 1)
    organic = rng.random(shown) < np.where(channel >= CHANNEL_INDEX["web"], 0.5, 0.1)
    campaign = np.where(organic, -1, channel * CAMPAIGNS_PER_CHANNEL
                        + rng.integers(0, CAMPAIGNS_PER_CHANNEL, shown))
    device = np.where(rng.random(shown) < 0.85, population.device[person],
                      rng.integers(0, len(DEVICES), shown))
    start = day_start + rng.integers(0, SECONDS_PER_DAY - 900, shown)

    def rows(mask: np.ndarray, event_type: str, second: np.ndarray,
             watch: np.ndarray | None = None) -> dict[str, np.ndarray]:
        count = int(mask.sum())
        return {
            "person": person[mask], "second": second[mask],
            "event_type": np.full(count, EVENT_TYPE_INDEX[event_type], dtype=np.int8),
            "content": content[mask], "channel": channel[mask], "campaign": campaign[mask],
            "watch": watch[mask] if watch is not None else np.full(count, np.nan, np.float32),
            "device": device[mask],
        }

    everyone = np.ones(shown, dtype=bool)
    # Readiness shows in engagement mostly through job content: the signal a model can learn.
    job_readiness = READINESS_ON_JOB_CONTENT * ready * job
    viewed = rng.random(shown) < planted.view_probability(
        _sigmoid(-1.3 + 4.0 * match + 0.3 * ready + job_readiness), content,
        None if keen is None else keen[person])
    view_second = start + rng.integers(1, 6, shown)
    mean_completion = _sigmoid(-0.8 + 4.0 * match + 0.5 * job_readiness)
    completion = rng.beta(mean_completion * 4 + 0.05, (1 - mean_completion) * 4 + 0.05)
    watch = np.round(catalog.duration_seconds[content] * completion, 1).astype(np.float32)
    progressed = viewed & catalog.is_film[content]
    act_second = view_second + rng.integers(5, 300, shown)

    def reacts(logit: np.ndarray) -> np.ndarray:
        return viewed & (rng.random(shown) < _sigmoid(logit))

    click = reacts(-3.2 + 3 * match + 0.3 * ready + 1.3 * job_readiness)
    share = reacts(-4.8 + 3 * match + 0.3 * job_readiness)
    reaction = reacts(-3.6 + 3 * match)
    comment = reacts(-5.5 + 3 * match + 0.4 * job_readiness)
    return [
        rows(everyone, "impression", start),
        rows(viewed, "view", view_second),
        rows(progressed, "video_progress", view_second + np.ceil(watch).astype(np.int64), watch),
        rows(click, "click", act_second),
        rows(share, "share", act_second + 2),
        rows(reaction, "reaction", act_second + 1),
        rows(comment, "comment", act_second + 30),
    ]


def _intents_for_day(rng: np.random.Generator, hazard: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Poisson(hazard) intent events per person; type by fixed shares (a Poisson thinning)."""
    person = np.repeat(np.arange(len(hazard), dtype=np.int32), rng.poisson(hazard))
    kind = INTENT_TYPE_INDICES[rng.choice(len(INTENT_TYPE_INDICES), size=len(person),
                                          p=INTENT_TYPE_PROBABILITIES)]
    return person, kind.astype(np.int8)


def simulate_history(rng: np.random.Generator, population: Population, catalog: Catalog,
                     days: int, future_days: int, first_day_epoch_second: int,
                     on_day: Callable[[int], None] | None = None, shift_day: int | None = None,
                     shift_activity: float = 1.0,
                     planted: PlantedFilms = NO_PLANTED_FILMS) -> SimulatedHistory:
    """Run the world for `days` observed days plus `future_days` whose events stay hidden;
    from day index `shift_day` on (when given) engagement rates are scaled by `shift_activity`;
    `planted` films (simulator.planted_films) act on the observed days."""
    total_days = days + future_days
    baseline = population.hazard_baseline()
    readiness = rng.standard_normal(population.size).astype(np.float32)
    hazard = np.empty((population.size, total_days), dtype=np.float32)
    municipality_p = MUNICIPALITY_WEIGHTS / MUNICIPALITY_WEIGHTS.sum()
    strong_film = StrongFilmEffect(population.size) if planted.strong is not None else None
    keen = Keenness(population.size) if planted.keen is not None else None
    parts: list[dict[str, np.ndarray]] = []
    intent_parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for day in range(total_days):
        readiness = next_readiness(rng, readiness)
        hazard[:, day] = daily_hazard(baseline, readiness)
        if strong_film is not None:
            hazard[:, day] = strong_film.hazard(hazard[:, day])
        intent_person, intent_type = _intents_for_day(rng, hazard[:, day])
        intent_parts.append((intent_person, np.full(len(intent_person), day, np.int32),
                             intent_type))
        if day < days:
            day_start = first_day_epoch_second + day * SECONDS_PER_DAY
            shifted = shift_day is not None and day >= shift_day
            day_parts = _engagement_for_day(rng, population, catalog, readiness, day_start,
                                            shift_activity if shifted else 1.0, planted,
                                            None if keen is None else keen.today())
            if strong_film is not None:  # today's views lift the hazard from tomorrow on
                views = day_parts[1]
                strong_film.after_the_day(views["person"][views["content"] == planted.strong])
            count = len(intent_person)
            favourite = rng.random(count) < 0.7
            day_parts.append({
                "person": intent_person,
                "second": day_start + rng.integers(0, SECONDS_PER_DAY - 900, count),
                "event_type": intent_type,
                "content": np.full(count, -1),
                "channel": np.where(rng.random(count) < 0.8, CHANNEL_INDEX["web"],
                                    CHANNEL_INDEX["email"]),
                "campaign": np.full(count, -1),
                "watch": np.full(count, np.nan, np.float32),
                "device": population.device[intent_person],
                "municipality": np.where(
                    favourite, population.favourite_municipality[intent_person],
                    rng.choice(len(MUNICIPALITIES), size=count, p=municipality_p)),
            })
            consent = population.consent_on(day)
            for part in day_parts:
                size = len(part["person"])
                part.setdefault("municipality", np.full(size, -1))
                part["consent"] = consent[part["person"]]
                part["region_known"] = rng.random(size) < 0.95
                parts.append({name: part[name].astype(EVENT_DTYPES[name], copy=False)
                              for name in EVENT_COLUMNS})
        if keen is not None:  # today's intents make a keen viewer from tomorrow on
            keen.after_the_day(intent_person)
        if on_day is not None:
            on_day(day)

    events = {name: np.concatenate([part[name] for part in parts]) for name in EVENT_COLUMNS}
    del parts
    order = np.lexsort((events["event_type"], events["person"], events["second"]))
    events = {name: column[order] for name, column in events.items()}
    intents = {
        "person": np.concatenate([p for p, _, _ in intent_parts]),
        "day": np.concatenate([d for _, d, _ in intent_parts]),
        "event_type": np.concatenate([t for _, _, t in intent_parts]),
    }
    return SimulatedHistory(events=events, hazard=hazard, intents=intents)
