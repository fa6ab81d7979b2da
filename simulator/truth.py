"""The hidden truth of a simulated world: true intent probabilities and realised outcomes.

Intent events arrive as a Poisson process with daily rate λ(person, day) that depends on hidden
state only, and each event's type is drawn with fixed shares, so for any set of intent types
P(at least one in [as_of, as_of + h)) = 1 - exp(-share(types) · Σ λ over those days), exactly.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from norrut.contract import INTENT_EVENT_TYPES


def _truth(world_dir: Path) -> dict:
    path = Path(world_dir) / "truth" / "truth.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: is {world_dir} a world made by norrut simulate?")
    return json.loads(path.read_text())


def _intent_share(truth: dict, intent_types: Iterable[str] | None) -> tuple[float, list[str]]:
    chosen = list(INTENT_EVENT_TYPES) if intent_types is None else list(intent_types)
    unknown = sorted(set(chosen) - set(INTENT_EVENT_TYPES))
    if unknown or not chosen:
        raise ValueError(f"intent types must be a non-empty subset of {INTENT_EVENT_TYPES}; "
                         f"got {chosen}")
    return float(sum(truth["intent_type_shares"][name] for name in set(chosen))), chosen


def _window(truth: dict, as_of: date, horizon_days: int) -> tuple[int, int]:
    if horizon_days < 1:
        raise ValueError("horizon_days must be at least 1")
    first_day = date.fromisoformat(truth["first_day"])
    total_days = truth["observed_days"] + truth["future_days"]
    start = (as_of - first_day).days
    stop = start + horizon_days
    if start < 0 or stop > total_days:
        last = first_day + timedelta(days=total_days - horizon_days)
        raise ValueError(f"a {horizon_days}-day window from {as_of} is outside the simulated "
                         f"days; as_of must be between {first_day} and {last}")
    return start, stop


def true_intent_probability(world_dir: str | Path, as_of: date, horizon_days: int = 14,
                            intent_types: Iterable[str] | None = None) -> pl.DataFrame:
    """Each person's true probability of at least one intent event in [as_of, as_of + h).

    One row per simulated person (also persons without events): person_id, true_probability.
    """
    truth = _truth(Path(world_dir))
    share, _ = _intent_share(truth, intent_types)
    start, stop = _window(truth, as_of, horizon_days)
    hazard = np.load(Path(world_dir) / "truth" / truth["hazard_file"], mmap_mode="r")
    expected_events = np.asarray(hazard[:, start:stop], dtype=np.float64).sum(axis=1) * share
    person_ids = pl.read_parquet(Path(world_dir) / "truth" / "persons.parquet",
                                 columns=["person_id"])["person_id"]
    return pl.DataFrame({"person_id": person_ids,
                         "true_probability": -np.expm1(-expected_events)})


def realised_intent(world_dir: str | Path, as_of: date, horizon_days: int = 14,
                    intent_types: Iterable[str] | None = None) -> pl.DataFrame:
    """Whether each person really had an intent event in [as_of, as_of + h), including days
    after the inbox ends: person_id, had_intent."""
    truth = _truth(Path(world_dir))
    _, chosen = _intent_share(truth, intent_types)
    _window(truth, as_of, horizon_days)
    truth_dir = Path(world_dir) / "truth"
    positives = (
        pl.scan_parquet(truth_dir / "intent_days.parquet")
        .filter(pl.col("occurred_on") >= as_of,
                pl.col("occurred_on") < as_of + timedelta(days=horizon_days),
                pl.col("event_type").is_in(chosen))
        .select("person_id").unique()
        .with_columns(had_intent=pl.lit(True))
    )
    persons = pl.scan_parquet(truth_dir / "persons.parquet").select("person_id")
    return (persons.join(positives, on="person_id", how="left", maintain_order="left")
            .with_columns(pl.col("had_intent").fill_null(False)).collect())
