"""The hidden truth of a simulated world: true intent probabilities and realised outcomes.

Intent events arrive as a Poisson process with daily rate λ(person, day) = exp(b + β·r_d): b is
the person's constant baseline log-hazard, r_d the hidden readiness on day d, an AR(1) walk
(persistence φ, innovation sd √(1 − φ²)) with rare upward jumps (a life event). Each event's
type is drawn with fixed shares, so for a set of intent types of total share s and a known
hazard path, P(at least one in [as_of, as_of + h)) = 1 − exp(−s · Σ λ over those days).

Two probabilities follow, and they answer different questions:

- `true_intent_probability`, the oracle: the best prediction anyone standing at as_of can
  make, knowing every hidden trait and the readiness at the end of the day before as_of, but
  not the future. It is E[1 − exp(−s · Σ_d exp(b + β·r_d)) | b, r_{as_of − 1}], the
  expectation over future readiness paths of the same process, by Monte Carlo.
- `clairvoyant_intent_probability`: the same formula on the realised hazard of the window, so
  it also knows the readiness innovations and jumps that happen after as_of. No predictor can
  reach it; it bounds what the world's Poisson noise alone leaves unpredictable.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from core.contract import INTENT_EVENT_TYPES

# Truth version 2 records the baseline and the readiness process (simulator.world).
EXPECTED_TRUTH_VERSION = 2
DEFAULT_PATHS = 8192
DEFAULT_MONTE_CARLO_SEED = 0
# Persons per chunk are chosen so one chunk's (persons x paths) float64 matrix stays near this.
_CHUNK_BYTES = 64 * 2**20


@dataclass(frozen=True)
class ReadinessProcess:
    """The readiness walk as the simulator ran it, and its weight in the log-hazard."""

    persistence: float
    innovation_sd: float
    jump_probability: float
    jump_size: float
    hazard_readiness: float

    @classmethod
    def from_truth(cls, truth: dict) -> ReadinessProcess:
        recorded = truth["readiness_process"]
        return cls(**{name: float(recorded[name]) for name in cls.__dataclass_fields__})


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


def _person_ids(world_dir: Path) -> pl.Series:
    return pl.read_parquet(Path(world_dir) / "truth" / "persons.parquet",
                           columns=["person_id"])["person_id"]


def expected_intent_probability(
        baseline: np.ndarray, readiness_now: np.ndarray, horizon_days: int, share: float,
        process: ReadinessProcess, paths: int = DEFAULT_PATHS,
        seed: int = DEFAULT_MONTE_CARLO_SEED) -> tuple[np.ndarray, np.ndarray]:
    """E[1 − exp(−share · Σ_{k=1..h} exp(b + β·r_k)) | b, r_0 = readiness_now] per person, by
    Monte Carlo over `paths` future readiness paths; returns (probability, standard error).

    r_k = φ^k·r_0 + Z_k, where Z_k = φ·Z_{k−1} + η_k collects the innovations and jumps and does
    not depend on the person. Every person therefore shares the same `paths` draws of Z (common
    random numbers): the estimate is then increasing in b and in r_0 for any draw, so the
    Monte Carlo error cannot swap the order of two persons who differ in only one of them, and
    one matrix product per chunk of persons does the work. Deterministic for a given seed."""
    if horizon_days < 1 or paths < 2:
        raise ValueError("horizon_days must be at least 1 and paths at least 2")
    baseline = np.asarray(baseline, dtype=np.float64)
    readiness_now = np.asarray(readiness_now, dtype=np.float64)
    rng = np.random.default_rng(seed)
    innovations = (process.innovation_sd * rng.standard_normal((horizon_days, paths))
                   + process.jump_size * (rng.random((horizon_days, paths))
                                          < process.jump_probability))
    future_noise = np.empty((horizon_days, paths))
    previous = np.zeros(paths)
    for k in range(horizon_days):
        previous = process.persistence * previous + innovations[k]
        future_noise[k] = previous
    noise_factor = np.exp(process.hazard_readiness * future_noise)  # (h, paths)
    decay = process.persistence ** np.arange(1, horizon_days + 1)  # φ^k, k = 1..h

    probability = np.empty(len(baseline))
    standard_error = np.empty(len(baseline))
    chunk = max(1, min(len(baseline), _CHUNK_BYTES // (8 * paths)))
    # One buffer reused in place: fresh (persons x paths) temporaries cost more than the maths.
    buffer = np.empty((chunk, paths))
    for start in range(0, len(baseline), chunk):
        stop = min(start + chunk, len(baseline))
        per_path = buffer[: stop - start]
        state_factor = np.exp(process.hazard_readiness
                              * readiness_now[start:stop, None] * decay[None, :])  # (n, h)
        np.matmul(state_factor, noise_factor, out=per_path)
        per_path *= -share * np.exp(baseline[start:stop])[:, None]  # minus expected events
        np.expm1(per_path, out=per_path)  # minus the probability of at least one event
        probability[start:stop] = -per_path.mean(axis=1)
        standard_error[start:stop] = per_path.std(axis=1, ddof=1) / np.sqrt(paths)
    return probability, standard_error


def true_intent_probability(world_dir: str | Path, as_of: date, horizon_days: int = 14,
                            intent_types: Iterable[str] | None = None,
                            paths: int = DEFAULT_PATHS,
                            seed: int = DEFAULT_MONTE_CARLO_SEED) -> pl.DataFrame:
    """The oracle: each person's probability of at least one intent event in
    [as_of, as_of + h) given every hidden trait and the readiness at the end of as_of − 1,
    averaged over future readiness paths (see expected_intent_probability).

    One row per simulated person (also persons without events): person_id, true_probability,
    mc_standard_error (of that person's Monte Carlo estimate)."""
    world_dir = Path(world_dir)
    truth = _truth(world_dir)
    if truth.get("truth_version", 1) < EXPECTED_TRUTH_VERSION:
        raise ValueError(
            f"{world_dir} was simulated before truth version {EXPECTED_TRUTH_VERSION} and does "
            f"not record the hazard baseline and readiness process the expected probability "
            f"needs; simulate it again (same seed, same events), or use "
            f"clairvoyant_intent_probability")
    share, _ = _intent_share(truth, intent_types)
    start, _ = _window(truth, as_of, horizon_days)
    if start == 0:
        raise ValueError(f"the readiness before the first simulated day "
                         f"{truth['first_day']} is not recorded; as_of must be later")
    process = ReadinessProcess.from_truth(truth)
    persons = pl.read_parquet(world_dir / "truth" / "persons.parquet",
                              columns=["person_id", truth["hazard_baseline_column"]])
    baseline = persons[truth["hazard_baseline_column"]].to_numpy().astype(np.float64)
    hazard = np.load(world_dir / "truth" / truth["hazard_file"], mmap_mode="r")
    # The hazard of the day before as_of was computed from that day's readiness: invert it.
    readiness_now = (np.log(np.asarray(hazard[:, start - 1], dtype=np.float64)) - baseline) \
        / process.hazard_readiness
    probability, standard_error = expected_intent_probability(
        baseline, readiness_now, horizon_days, share, process, paths, seed)
    return pl.DataFrame({"person_id": persons["person_id"], "true_probability": probability,
                         "mc_standard_error": standard_error})


def clairvoyant_intent_probability(world_dir: str | Path, as_of: date, horizon_days: int = 14,
                                   intent_types: Iterable[str] | None = None) -> pl.DataFrame:
    """Each person's probability of intent in [as_of, as_of + h) given the REALISED hazard of
    that window: it knows the readiness changes and life events after as_of, which no
    prediction made at as_of can. An upper reference, not the goal's oracle.

    One row per simulated person: person_id, clairvoyant_probability."""
    truth = _truth(Path(world_dir))
    share, _ = _intent_share(truth, intent_types)
    start, stop = _window(truth, as_of, horizon_days)
    hazard = np.load(Path(world_dir) / "truth" / truth["hazard_file"], mmap_mode="r")
    expected_events = np.asarray(hazard[:, start:stop], dtype=np.float64).sum(axis=1) * share
    return pl.DataFrame({"person_id": _person_ids(Path(world_dir)),
                         "clairvoyant_probability": -np.expm1(-expected_events)})


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
