"""Films planted in a world for the creative report (`norrut creatives`) to find or to see
through: a strong film, and a film whose viewers are simply keen.

- The **strong film** works: from the day after a person first views it, their intent
  log-hazard is STRONG_FILM_LIFT higher, a lift that fades by STRONG_FILM_LIFT_PERSISTENCE a day.
  It acts on intent alone, not on readiness, so the viewers do not also engage more with every
  other item (which would lend the strong film's effect to whatever they watched next). The
  recorded hazard (truth/hazard.npy) includes the lift; the oracle of simulator.truth does not
  know of it.
- The **keen-viewers film** does nothing: it is viewed mostly by persons who already did
  intent events lately (a retargeted audience: keen people click everything), who do more
  intent events later whether they saw it or not.

Both are shown in PLANTED_FILM_SHARE of all impressions each (a campaign's hero films), so each
reaches enough persons to be measured in a small world. With neither set (the default) nothing
here draws a random number or changes a probability: a default world is byte-identical to one
made before the planted films existed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STRONG_FILM_LIFT = 2.0
STRONG_FILM_LIFT_PERSISTENCE = 0.995
# The keen film's view probability is sigmoid(KEEN_FILM_VIEW_INTERCEPT + KEEN_FILM_SELECTION * k),
# k = log(1 + the viewer's intent events so far, each fading by KEEN_MEMORY a day).
KEEN_FILM_VIEW_INTERCEPT = -1.5
KEEN_FILM_SELECTION = 3.0
KEEN_MEMORY = 0.97
PLANTED_FILM_SHARE = 0.04


@dataclass(frozen=True)
class PlantedFilms:
    """Catalog indices of the planted films (None: not planted)."""

    strong: int | None = None
    keen: int | None = None

    @property
    def any(self) -> bool:
        return self.strong is not None or self.keen is not None

    def indices(self) -> list[int]:
        return [index for index in (self.strong, self.keen) if index is not None]

    def shown_instead(self, rng: np.random.Generator, content: np.ndarray) -> np.ndarray:
        """`content` with PLANTED_FILM_SHARE of the impressions showing each planted film."""
        if not self.any:
            return content
        draw = rng.random(len(content))
        for position, index in enumerate(self.indices()):
            chosen = ((draw >= position * PLANTED_FILM_SHARE)
                      & (draw < (position + 1) * PLANTED_FILM_SHARE))
            content = np.where(chosen, index, content)
        return content

    def view_probability(self, probability: np.ndarray, content: np.ndarray,
                         keenness: np.ndarray | None) -> np.ndarray:
        """The view probability of each impression, the keen film's chosen by keenness."""
        if self.keen is None or keenness is None:
            return probability
        logit = KEEN_FILM_VIEW_INTERCEPT + KEEN_FILM_SELECTION * keenness
        return np.where(content == self.keen, 1.0 / (1.0 + np.exp(-logit)), probability)

    def truth(self, content_ids: list[str]) -> dict:
        """What truth/planted_films.json records about them."""
        return {
            "strong_film": None if self.strong is None else content_ids[self.strong],
            "keen_film": None if self.keen is None else content_ids[self.keen],
            "strong_film_log_hazard_lift": STRONG_FILM_LIFT,
            "strong_film_lift_persistence": STRONG_FILM_LIFT_PERSISTENCE,
            "keen_film_view_logit": {"intercept": KEEN_FILM_VIEW_INTERCEPT,
                                     "per_log_recent_intents": KEEN_FILM_SELECTION,
                                     "daily_memory_of_intents": KEEN_MEMORY},
            "share_of_impressions_each": PLANTED_FILM_SHARE,
        }


class Keenness:
    """Each person's recent intent events (fading by KEEN_MEMORY a day), which choose the keen
    film's viewers."""

    def __init__(self, persons: int) -> None:
        self.recent_intents = np.zeros(persons, dtype=np.float32)

    def today(self) -> np.ndarray:
        return np.log1p(self.recent_intents)

    def after_the_day(self, intent_persons: np.ndarray) -> None:
        self.recent_intents *= KEEN_MEMORY
        self.recent_intents += np.bincount(intent_persons,
                                           minlength=len(self.recent_intents))


class StrongFilmEffect:
    """The strong film's lift of each person's intent log-hazard, as it builds up and fades."""

    def __init__(self, persons: int) -> None:
        self.seen = np.zeros(persons, dtype=bool)
        self.lift = np.zeros(persons, dtype=np.float32)

    def hazard(self, hazard: np.ndarray) -> np.ndarray:
        """The day's hazard with the lift of those who viewed the film on an earlier day."""
        return (hazard * np.exp(self.lift)).astype(np.float32)

    def after_the_day(self, viewers: np.ndarray) -> None:
        """The lift fades a day, and the day's first-time `viewers` (person indices) get it."""
        self.lift *= STRONG_FILM_LIFT_PERSISTENCE
        first_time = np.unique(viewers)
        first_time = first_time[~self.seen[first_time]]
        self.seen[first_time] = True
        self.lift[first_time] += STRONG_FILM_LIFT


def plant_films(content_ids: list[str], is_film: np.ndarray, strong_film: str | None,
                keen_film: str | None) -> PlantedFilms:
    """The catalog indices of the films named; a name that is no film of the catalog, or the
    same film twice, is a ValueError."""
    index_of = {content_id: index for index, content_id in enumerate(content_ids)}

    def film(name: str | None, role: str) -> int | None:
        if name is None:
            return None
        index = index_of.get(name)
        if index is None or not is_film[index]:
            raise ValueError(f"the {role} film {name!r} is not a film of the catalog "
                             f"(film-001 ... film-{int(is_film.sum()):03d})")
        return index

    planted = PlantedFilms(film(strong_film, "strong"), film(keen_film, "keen"))
    if planted.strong is not None and planted.strong == planted.keen:
        raise ValueError("the strong film and the keen film must be different films")
    return planted


NO_PLANTED_FILMS = PlantedFilms()
