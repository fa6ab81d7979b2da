"""Small, real inputs for scoring and export tests: a warehouse with events and features, and a
LightGBM champion registered in an MLflow store under tmp_path."""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from core.contract import THEMES
from warehouse.db import open_warehouse

AS_OF = date(2026, 11, 1)
NEXT_DAY = AS_OF + timedelta(days=1)
MODEL_NAME = "curious-about-working-here"
NUMERIC_FEATURES = ("n_engagements_90d", "watch_seconds_90d", "days_since_last_event",
                    "n_intent_all")
FEATURE_NAMES = list(NUMERIC_FEATURES) + [f"theme_share_90d__{t}" for t in THEMES]
REGIONS = ("SE-AB", "SE-O", "SE-M", "DE", "NL")



@dataclass(frozen=True)
class Population:
    persons: pl.DataFrame  # person_id, id_type, home_region, features

    def ids(self, id_type: str | None = None) -> list[str]:
        frame = self.persons if id_type is None else self.persons.filter(
            pl.col("id_type") == id_type)
        return frame["person_id"].to_list()


def make_population(n_persons: int, seed: int = 7, maid_share: float = 0.7) -> Population:
    """Persons with a mix of id types; maids are UUIDs in mixed case, as devices report them."""
    rng = np.random.default_rng(seed)
    kinds = rng.choice(["maid", "cookie", "publisher"], size=n_persons,
                       p=[maid_share, (1 - maid_share) / 2, (1 - maid_share) / 2])
    ids = []
    for index, kind in enumerate(kinds):
        if kind == "maid":
            value = str(uuid.UUID(int=int(rng.integers(1, 2**62)) << 64 | index))
            ids.append(value.upper() if index % 3 == 0 else value)
        else:
            ids.append(f"{kind[:3]}_{index:08d}")
    shares = rng.dirichlet(np.ones(len(THEMES)) * 0.3, size=n_persons)
    frame = pl.DataFrame({
        "person_id": ids,
        "id_type": kinds.tolist(),
        "home_region": rng.choice(REGIONS, size=n_persons).tolist(),
        "n_engagements_90d": rng.poisson(5, n_persons).astype(float),
        "watch_seconds_90d": rng.gamma(2, 60, n_persons),
        "days_since_last_event": rng.integers(0, 90, n_persons).astype(float),
        "n_intent_all": rng.poisson(0.3, n_persons).astype(float),
        **{f"theme_share_90d__{t}": shares[:, i] for i, t in enumerate(THEMES)},
    })
    return Population(frame)


def build_warehouse(warehouse_path: Path, population: Population, as_of: date = AS_OF,
                    withdrawn: list[str] = (), opted_out: list[str] = ()) -> None:
    """Events (consent true, then false for `withdrawn`), opt-outs, and one feature row each
    (the fixture's columns; the feature table's other columns stay null)."""
    persons = population.persons
    seen_at = datetime.combine(as_of, datetime.min.time()) - timedelta(days=3)
    events = pl.DataFrame({
        "event_id": [f"e-{i}" for i in range(persons.height)],
        "occurred_at": [seen_at] * persons.height,
        "person_id": persons["person_id"],
        "id_type": persons["id_type"],
        "event_type": ["view"] * persons.height,
        "region": persons["home_region"],
        "consent": [True] * persons.height,
    })
    withdrawals = pl.DataFrame({
        "event_id": [f"w-{i}" for i in range(len(withdrawn))],
        "occurred_at": [seen_at + timedelta(days=1)] * len(withdrawn),
        "person_id": list(withdrawn),
        "id_type": persons.filter(pl.col("person_id").is_in(list(withdrawn)))["id_type"],
        "event_type": ["click"] * len(withdrawn),
        "region": ["SE-AB"] * len(withdrawn),
        "consent": [False] * len(withdrawn),
    })
    all_events = pl.concat([events, withdrawals.cast(events.schema)])
    with open_warehouse(warehouse_path) as con:
        con.register("new_events", all_events.to_arrow())
        con.execute("""
            insert into raw.events by name
            select *, 'fixture' as file_sha256
            from new_events
        """)
        con.unregister("new_events")
        for person_id in opted_out:
            con.execute("insert into raw.suppressed_persons values (sha256(?), 'objection', "
                        "?, current_timestamp)", [person_id, seen_at])
        con.register("new_features", persons.with_columns(
            pl.lit(as_of).alias("as_of_date")).to_arrow())
        con.execute("insert into features.person_features by name select * from new_features")
        con.unregister("new_features")


def register_champion(tracking_uri: str, artifacts_dir: Path, model_name: str = MODEL_NAME,
                      seed: int = 3, n_estimators: int = 30):
    """Train a small LightGBM classifier on the fixture features and alias it `champion`."""
    import lightgbm
    import mlflow
    import pandas as pd

    rng = np.random.default_rng(seed)
    n = 2000
    frame = pd.DataFrame(rng.random((n, len(FEATURE_NAMES))).astype(np.float32),
                         columns=FEATURE_NAMES)
    logit = 3 * frame["n_engagements_90d"] - 2 * frame["days_since_last_event"] - 0.5
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    model = lightgbm.LGBMClassifier(n_estimators=n_estimators, num_leaves=15, verbose=-1,
                                    random_state=seed)
    model.fit(frame, label)

    client = mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    experiment = client.get_experiment_by_name("activation-tests")
    experiment_id = (experiment.experiment_id if experiment else client.create_experiment(
        "activation-tests", artifact_location=Path(artifacts_dir).resolve().as_uri()))
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    try:
        model_version, run_id = _log_and_register(model, frame, label, experiment_id, model_name)
    finally:
        # Leave no process-wide URI behind: code under test must find the store on its own.
        mlflow.set_tracking_uri(previous[0])
        mlflow.set_registry_uri(previous[1])
    client.set_registered_model_alias(model_name, "champion", model_version)
    return model, model_version, run_id


def _log_and_register(model, frame, label, experiment_id: str, model_name: str):
    import mlflow
    from mlflow.models import infer_signature

    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_metrics({"test_roc_auc": 0.8, "test_lift_at_10pct": 3.1,
                            "baseline_test_roc_auc": 0.5})
        info = mlflow.sklearn.log_model(
            model, name="model",
            signature=infer_signature(frame.head(5), label[:5].astype(np.float64)),
            registered_model_name=model_name,
            # Naming the requirements skips MLflow's slow environment inference.
            pip_requirements=["lightgbm", "scikit-learn"],
            skops_trusted_types=["collections.OrderedDict", "lightgbm.basic.Booster",
                                 "lightgbm.sklearn.LGBMClassifier"],
        )
    return str(info.registered_model_version), run.info.run_id


@dataclass(frozen=True)
class ChampionStore:
    tracking_uri: str
    mlflow_dir: Path
    version: str
    run_id: str


_STORES: dict[Path, ChampionStore] = {}


def shared_champion_store(tmp_path_factory: pytest.TempPathFactory) -> ChampionStore:
    """One MLflow store with a registered champion per test session, shared read-only by the
    activation test modules (registering costs seconds)."""
    base = tmp_path_factory.getbasetemp()
    if base not in _STORES:
        mlflow_dir = tmp_path_factory.mktemp("activation-mlflow")
        tracking_uri = f"sqlite:///{mlflow_dir / 'mlflow.db'}"
        _, version, run_id = register_champion(tracking_uri, mlflow_dir / "artifacts")
        _STORES[base] = ChampionStore(tracking_uri, mlflow_dir, version, run_id)
    return _STORES[base]


def copy_champion_into(store: ChampionStore, mlflow_dir: Path) -> str:
    """Give a Norrut home the shared champion: its registry points at the shared artifacts."""
    mlflow_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(store.mlflow_dir / "mlflow.db", mlflow_dir / "mlflow.db")
    return f"sqlite:///{mlflow_dir / 'mlflow.db'}"


def scored_warehouse(tmp_path: Path, store: ChampionStore, n_persons: int = 400,
                     withdrawn_count: int = 0, opted_out_count: int = 0) -> tuple[Path, Population]:
    """A warehouse with events, features and stored scores for AS_OF."""
    from activation.scoring import score_persons

    population = make_population(n_persons)
    maids = population.ids("maid")
    warehouse_path = tmp_path / "warehouse.duckdb"
    build_warehouse(warehouse_path, population,
                    withdrawn=maids[:withdrawn_count],
                    opted_out=maids[withdrawn_count:withdrawn_count + opted_out_count])
    score_persons(warehouse_path, AS_OF, store.tracking_uri)
    return warehouse_path, population


@dataclass(frozen=True)
class TwoDays:
    """Two export runs a day apart (activation/deltas.py), and who changed in between."""

    warehouse: Path
    first: object  # ExportRunReport of AS_OF
    second: object  # ExportRunReport of NEXT_DAY
    people: dict[str, str]  # "withdrawn", "opted_out", "moved_out", "moved_in" -> their MAID


def export_two_days(warehouse: Path, exports: Path, store: ChampionStore, segments,
                    n_persons: int = 400) -> TwoDays:
    """A first export, then a day in which one person withdraws consent, one opts out (the
    opt-out flow's steps), one moves from Stockholm (SE-AB) to Västra Götaland and one moves the
    other way; then the next day's features, scores and export. `segments` (SegmentsToExport)
    should select on home region SE-AB, so the two who moved leave and join it."""
    from activation.export_rewrite import remove_persons_from_exports
    from activation.export_run import export_segments
    from activation.scoring import score_persons
    from warehouse.optout import apply_optouts

    population = make_population(n_persons)
    build_warehouse(warehouse, population)
    score_persons(warehouse, AS_OF, store.tracking_uri)
    first = export_segments(warehouse, exports, AS_OF, segments, tracking_uri=store.tracking_uri)
    maids = population.persons.filter(pl.col("id_type") == "maid")
    north = maids.filter(pl.col("home_region") == "SE-AB")["person_id"]
    south = maids.filter(pl.col("home_region") == "SE-O")["person_id"]
    people = {"withdrawn": north[0], "opted_out": north[1], "moved_out": north[2],
              "moved_in": south[0]}
    optouts = warehouse.parent / "optouts.csv"
    optouts.write_text("person_id,requested_at,kind\n"
                       f"{people['opted_out']},2026-11-01T09:00:00Z,erasure\n", encoding="utf-8")
    run = apply_optouts(warehouse, optouts)
    remove_persons_from_exports(warehouse, exports, run.run_id)
    with open_warehouse(warehouse) as con:
        features = con.execute("select * from features.person_features where as_of_date = ?",
                               [AS_OF]).pl()
        moved = features.with_columns(
            pl.lit(NEXT_DAY).alias("as_of_date"),
            pl.when(pl.col("person_id") == people["moved_out"]).then(pl.lit("SE-O"))
            .when(pl.col("person_id") == people["moved_in"]).then(pl.lit("SE-AB"))
            .otherwise(pl.col("home_region")).alias("home_region"))
        con.register("next_day", moved.to_arrow())
        con.execute("insert into features.person_features by name select * from next_day")
        con.unregister("next_day")
        con.execute("insert into raw.events (event_id, occurred_at, person_id, id_type, "
                    "event_type, region, consent, file_sha256) values "
                    "('withdrawal', ?, ?, 'maid', 'click', 'SE-AB', false, 'fixture')",
                    [datetime.combine(AS_OF, datetime.min.time()), people["withdrawn"]])
    score_persons(warehouse, NEXT_DAY, store.tracking_uri)
    second = export_segments(warehouse, exports, NEXT_DAY, segments,
                             tracking_uri=store.tracking_uri)
    return TwoDays(warehouse, first, second, people)
