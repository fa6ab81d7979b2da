"""Why this audience: the features that most raise a segment's scores against everyone scored.

A driver is a feature whose mean SHAP contribution (LightGBM's exact `pred_contrib`, in
log-odds, read through models.prediction.booster_contributions) is higher among the segment's
members than among everyone scored for the date. Its words are the feature's own phrase in the
catalog (features/catalog.py): `phrase` when the members' mean value is higher than everyone's,
`phrase_lower` when it is lower. Aggregates only: no person's contributions leave this module.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from features.catalog import FEATURES, Feature
from models.prediction import booster_contributions

TOP_DRIVERS = 5


@dataclass(frozen=True)
class PopulationContributions:
    """Every scored person's contributions, one row each in the population's order."""

    person_ids: pl.Series
    feature_names: list[str]
    contributions: np.ndarray  # (persons, features), log-odds
    values: np.ndarray  # (persons, features), the feature values the model read

    def mean_of(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean contribution and mean value (nulls left out) of the rows where `rows` is true."""
        return (self.contributions[rows].mean(axis=0),
                _nan_mean(self.values[rows]))


def population_contributions(model: object, features: pl.DataFrame) -> PopulationContributions:
    """The contributions of every row of `features` (person_id and the model's columns)."""
    names, contributions = booster_contributions(model, features)
    values = np.column_stack([features[name].cast(pl.Float64).to_numpy() for name in names])
    return PopulationContributions(features["person_id"], names, contributions, values)


def segment_drivers(population: PopulationContributions, members: pl.Series,
                    top: int = TOP_DRIVERS) -> list[dict[str, object]]:
    """The `top` features whose mean contribution is most raised among `members` (person ids)
    against the whole population; only those that raise it. What members have more of comes
    first, then what they have less of, each largest first: the theme shares add up to one, so
    "less of other themes" mostly mirrors the themes they have more of."""
    is_member = population.person_ids.is_in(members.implode()).to_numpy()
    if not is_member.any():
        return []
    everyone = np.ones(len(is_member), dtype=bool)
    member_contribution, member_value = population.mean_of(is_member)
    all_contribution, all_value = population.mean_of(everyone)
    raised = member_contribution - all_contribution
    declared = _declarations()
    is_higher = ~(member_value < all_value)
    raising = [index for index in np.argsort(-raised, kind="stable") if raised[index] > 0]
    order = sorted(raising, key=lambda index: not is_higher[index])[:top]
    drivers = []
    for index in order:
        name = population.feature_names[index]
        higher = bool(is_higher[index])
        drivers.append({
            "feature": name,
            "words": _words(declared.get(name), name, higher),
            "members_value": "higher" if higher else "lower",
            "contribution_raised_by": round(float(raised[index]), 6),
            "members_mean_value": _rounded(member_value[index]),
            "everyone_mean_value": _rounded(all_value[index]),
        })
    return drivers


def _declarations() -> dict[str, Feature]:
    return {feature.name: feature for feature in FEATURES}


def _words(feature: Feature | None, name: str, higher: bool) -> str:
    """The catalog's phrase; a feature the catalog does not declare (an older model) is named."""
    if feature is None:
        return f"{'higher' if higher else 'lower'} {name}"
    return feature.phrase if higher else feature.phrase_lower


def _nan_mean(values: np.ndarray) -> np.ndarray:
    counts = np.sum(~np.isnan(values), axis=0)
    sums = np.nansum(values, axis=0)
    return np.divide(sums, counts, out=np.full(values.shape[1], np.nan), where=counts > 0)


def _rounded(value: float) -> float | None:
    return None if np.isnan(value) else round(float(value), 6)
