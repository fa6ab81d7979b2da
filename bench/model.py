"""Model quality against the simulator's truth, and scoring speed.

Simulates a world (or reuses one), ingests it, trains as of the day after the inbox ends,
scores every profiled person at that date and compares model, logistic baseline and oracle
(the simulator's true probability) on the outcomes the simulator realised after the inbox:
AUC, PR-AUC, lift@10 %, ECE, and the share of the oracle's headroom the model captures,
(AUC - 0.5) / (oracle AUC - 0.5).

    .venv/bin/python bench/model.py --persons 20000 --days 90 --workdir /tmp/norrut-bench-model
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _norrut(home: Path, *args: str) -> None:
    norrut = Path(sys.executable).parent / "norrut"
    subprocess.run([str(norrut), "--home", str(home), *args], check=True,
                   cwd=ROOT, stdout=subprocess.DEVNULL)


def _prepare_world(workdir: Path, persons: int, days: int, seed: int) -> tuple[Path, Path]:
    world, home = workdir / "world", workdir / "home"
    if not (world / "world.json").exists():
        started = time.perf_counter()
        _norrut(home, "simulate", str(world), "--persons", str(persons), "--days", str(days),
                "--seed", str(seed))
        print(f"simulate: {time.perf_counter() - started:.1f} s")
    if not home.joinpath("warehouse.duckdb").exists():
        started = time.perf_counter()
        _norrut(home, "ingest", str(world / "inbox"), "--catalog", str(world / "catalog.csv"))
        print(f"ingest: {time.perf_counter() - started:.1f} s")
    return world, home


FIT_CHILD = """
import sys, time
sys.path.insert(0, {root!r})
import polars as pl
from models.datasets import feature_matrix
from models.estimators import LightGBMParams, fit_lightgbm
train, valid = pl.read_parquet({train!r}), pl.read_parquet({valid!r})
X_train, y_train = feature_matrix(train), train["label"].cast(pl.Int8).to_numpy()
X_valid, y_valid = feature_matrix(valid), valid["label"].cast(pl.Int8).to_numpy()
started = time.perf_counter()
model = fit_lightgbm(X_train, y_train, X_valid, y_valid,
                     LightGBMParams(n_estimators=200, early_stopping_rounds=1000))
fit = time.perf_counter() - started
started = time.perf_counter()
model.predict_proba(X_valid)
print(f"{{fit:.2f}} {{time.perf_counter() - started:.3f}}")
"""


def compare_omp_wait_policy(workdir: Path, sets) -> None:
    """200 boosting rounds with OpenMP's default wait policy and with PASSIVE, each in a
    fresh process (the runtime reads the variable once, at start)."""
    train, valid = workdir / "omp-train.parquet", workdir / "omp-valid.parquet"
    sets.training.write_parquet(train)
    sets.validation.write_parquet(valid)
    code = FIT_CHILD.format(root=str(ROOT), train=str(train), valid=str(valid))
    print("\nOMP_WAIT_POLICY, 200 rounds on the training snapshots (fit s, predict s):")
    for policy in ("default", "PASSIVE", "default", "PASSIVE"):
        env = {key: value for key, value in os.environ.items() if key != "OMP_WAIT_POLICY"}
        if policy != "default":
            env["OMP_WAIT_POLICY"] = policy
        output = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                                capture_output=True, text=True).stdout.split()
        print(f"  {policy:8} fit {output[0]} s, predict validation {output[1]} s, "
              f"load average {os.getloadavg()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--horizon", type=int, default=14)
    parser.add_argument("--trials", type=int, default=0, help="Optuna trials (0 = defaults)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/norrut-bench-model"))
    parser.add_argument("--omp", action="store_true",
                        help="Also time LightGBM with OMP_WAIT_POLICY default vs PASSIVE")
    args = parser.parse_args()

    from models.threads import configure_threads

    configure_threads()
    import numpy as np
    import polars as pl

    from features.build import build_features, load_feature_frame
    from models.datasets import build_training_sets, feature_matrix, plan_snapshots
    from models.estimators import fit_baseline
    from models.metrics import evaluate
    from models.registry import load_champion
    from models.training import TrainSettings, train_model
    from norrut.home import NorrutHome
    from simulator.truth import realised_intent, true_intent_probability
    from warehouse.db import open_warehouse

    args.workdir.mkdir(parents=True, exist_ok=True)
    world, home_path = _prepare_world(args.workdir, args.persons, args.days, args.seed)
    home = NorrutHome.resolve(home_path).ensure()
    scoring_date = date.fromisoformat(json.loads((world / "world.json").read_text())["as_of"])

    settings = TrainSettings(as_of=scoring_date, horizon_days=args.horizon,
                             optuna_trials=args.trials, promote=True)
    started = time.perf_counter()
    result = train_model(settings, home)
    train_seconds = time.perf_counter() - started
    print(f"train: {train_seconds:.1f} s (v{result.version}, best iteration "
          f"{result.best_iteration}, calibration {result.calibration}, rows {result.rows})")

    # The baseline as train_model fits it, on the same snapshots, for scoring at the as-of date.
    plan = plan_snapshots(scoring_date, args.horizon, settings.n_training_snapshots,
                          settings.snapshot_interval_days)
    with open_warehouse(home.warehouse_path) as con:
        sets = build_training_sets(con, plan, settings.intent_types)
    baseline = fit_baseline(feature_matrix(sets.training),
                            sets.training["label"].cast(pl.Int8).to_numpy())
    if args.omp:
        compare_omp_wait_policy(args.workdir, sets)

    build = build_features(home.warehouse_path, scoring_date)
    with open_warehouse(home.warehouse_path, read_only=True) as con:
        frame = load_feature_frame(con, scoring_date)
    champion = load_champion(result.tracking_uri, result.model_name)
    X = feature_matrix(frame, champion.feature_names)
    started = time.perf_counter()
    model_scores = champion.model.predict_proba(X)[:, 1]
    score_seconds = time.perf_counter() - started
    repeats = max(1, 1_000_000 // len(X))
    X_large = np.tile(X.to_numpy(dtype=np.float64), (repeats, 1))
    started = time.perf_counter()
    champion.model.predict_proba(X_large)
    large_seconds = time.perf_counter() - started

    truth = (frame.select("person_id")
             .with_columns(model=pl.Series(model_scores),
                           baseline=pl.Series(baseline.predict_proba(X)[:, 1]))
             .join(true_intent_probability(world, scoring_date, args.horizon), on="person_id")
             .join(realised_intent(world, scoring_date, args.horizon), on="person_id"))
    outcome = truth["had_intent"].cast(pl.Int8).to_numpy()
    rows = {name: evaluate(outcome, truth[column].to_numpy()) for name, column in
            (("model", "model"), ("baseline", "baseline"), ("oracle", "true_probability"))}
    oracle_auc = rows["oracle"]["roc_auc"]

    print(f"\nworld: {args.persons} persons, {args.days} days, seed {args.seed}; scored "
          f"{truth.height} profiled persons as of {scoring_date}, horizon {args.horizon} days; "
          f"realised positive rate {outcome.mean():.4f}")
    print(f"{'':10}{'AUC':>8}{'PR-AUC':>9}{'lift@10%':>10}{'ECE':>9}{'log loss':>10}{'headroom':>10}")
    for name, metrics in rows.items():
        headroom = (metrics["roc_auc"] - 0.5) / (oracle_auc - 0.5)
        print(f"{name:10}{metrics['roc_auc']:8.4f}{metrics['pr_auc']:9.4f}"
              f"{metrics['lift_at_10pct']:10.2f}{metrics['ece']:9.4f}{metrics['log_loss']:10.4f}"
              f"{headroom:10.2f}")
    corr = np.corrcoef(truth["model"].to_numpy(), truth["true_probability"].to_numpy())[0, 1]
    print(f"correlation of model score with the true probability: {corr:.3f}")
    print(f"\nfeatures at the scoring date: {build.persons} persons in {build.seconds:.1f} s")
    print(f"scoring: {len(X)} persons in {score_seconds:.2f} s "
          f"({len(X) / score_seconds:,.0f}/s); {len(X_large):,} rows in {large_seconds:.2f} s "
          f"({len(X_large) / large_seconds:,.0f}/s)")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB; "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}; cpus {os.cpu_count()}; "
          f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
