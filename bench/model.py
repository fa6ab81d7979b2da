"""Model quality against the simulator's truth, and scoring speed.

Simulates a world (or reuses one), ingests it, trains as of the day after the inbox ends,
scores every profiled person at that date and compares model, logistic baseline, oracle and
clairvoyant on the outcomes the simulator realised after the inbox: AUC (with its standard
error), PR-AUC, lift@10 %, ECE, and the share of the oracle's headroom the model captures,
(AUC - 0.5) / (oracle AUC - 0.5) - the goal's figure - and the same against the clairvoyant.

The oracle (`simulator.truth.true_intent_probability`) knows every hidden trait and the
readiness at the as-of date and averages over the future; the clairvoyant
(`clairvoyant_intent_probability`) also knows the realised readiness of the label window,
which no prediction made at the as-of date can.

    .venv/bin/python bench/model.py --persons 50000 --days 90 --seed 3 \
        --workdir /tmp/norrut-bench-model
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


def auc_standard_error(outcome, auc: float) -> float:
    """Hanley and McNeil's (1982) standard error of an AUC from the class sizes."""
    positives = float(outcome.sum())
    negatives = float(len(outcome) - positives)
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    variance = (auc * (1 - auc) + (positives - 1) * (q1 - auc**2)
                + (negatives - 1) * (q2 - auc**2)) / (positives * negatives)
    return variance**0.5


def bootstrap_headroom_error(outcome, scores, oracle_scores, resamples: int = 200) -> float:
    """Standard deviation of (AUC - 0.5) / (oracle AUC - 0.5) over persons resampled with
    replacement: model and oracle are scored on the same outcomes, so their errors are
    correlated and the ratio is steadier than the two AUC errors suggest."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    ratios = []
    for _ in range(resamples):
        chosen = rng.integers(0, len(outcome), len(outcome))
        oracle_auc = roc_auc_score(outcome[chosen], oracle_scores[chosen])
        ratios.append((roc_auc_score(outcome[chosen], scores[chosen]) - 0.5) / (oracle_auc - 0.5))
    return float(np.std(ratios, ddof=1))


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
    parser.add_argument("--persons", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--horizon", type=int, default=14)
    parser.add_argument("--trials", type=int, default=0, help="Optuna trials (0 = defaults)")
    parser.add_argument("--snapshots", type=int, default=None,
                        help="Training snapshots (default: TrainSettings')")
    parser.add_argument("--interval", type=int, default=None,
                        help="Days between training snapshots (default: TrainSettings')")
    parser.add_argument("--no-blend", action="store_true",
                        help="LightGBM alone, without the blend with the logistic baseline")
    parser.add_argument("--oracle-paths", type=int, default=None,
                        help="Monte Carlo paths of the oracle's expectation "
                             "(default simulator.truth.DEFAULT_PATHS)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/norrut-bench-model"))
    parser.add_argument("--omp", action="store_true",
                        help="Also time LightGBM with OMP_WAIT_POLICY default vs PASSIVE")
    args = parser.parse_args()

    from models.threads import configure_threads

    configure_threads()
    import numpy as np
    import polars as pl

    from core.home import NorrutHome
    from features.build import build_features, load_feature_frame
    from models.datasets import (
        build_training_sets,
        feature_matrix,
        fit_plan_to_data,
        plan_snapshots,
    )
    from models.estimators import fit_baseline
    from models.metrics import evaluate, expected_roc_auc
    from models.registry import load_version
    from models.settings import TrainSettings
    from models.training import train_model
    from simulator.truth import (
        DEFAULT_PATHS,
        clairvoyant_intent_probability,
        realised_intent,
        true_intent_probability,
    )
    from warehouse.db import open_warehouse

    args.oracle_paths = args.oracle_paths or DEFAULT_PATHS
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"load average at start {os.getloadavg()}")
    world, home_path = _prepare_world(args.workdir, args.persons, args.days, args.seed)
    home = NorrutHome.resolve(home_path).ensure()
    scoring_date = date.fromisoformat(json.loads((world / "world.json").read_text())["as_of"])

    snapshot_options = {key: value for key, value in (
        ("n_training_snapshots", args.snapshots), ("snapshot_interval_days", args.interval))
        if value is not None}
    settings = TrainSettings(as_of=scoring_date, horizon_days=args.horizon,
                             optuna_trials=args.trials, promote=True,
                             blend_with_baseline=not args.no_blend, **snapshot_options)
    started = time.perf_counter()
    result = train_model(settings, home)
    train_seconds = time.perf_counter() - started
    print(f"train: {train_seconds:.1f} s (v{result.version}, best iteration "
          f"{result.best_iteration}, LightGBM weight in the blend {result.lightgbm_weight}, "
          f"calibration {result.calibration}, rows {result.rows})")
    print(f"snapshots: {result.snapshots}")

    # The baseline as train_model fits it, on the same snapshots, for scoring at the as-of date.
    plan = plan_snapshots(scoring_date, args.horizon, settings.n_training_snapshots,
                          settings.snapshot_interval_days)
    with open_warehouse(home.warehouse_path) as con:
        plan = fit_plan_to_data(con, plan)
        sets = build_training_sets(con, plan, settings.intent_types)
    baseline = fit_baseline(feature_matrix(sets.training),
                            sets.training["label"].cast(pl.Int8).to_numpy())
    if args.omp:
        compare_omp_wait_policy(args.workdir, sets)

    build = build_features(home.warehouse_path, scoring_date)
    with open_warehouse(home.warehouse_path, read_only=True) as con:
        frame = load_feature_frame(con, scoring_date)
    # The version just trained, whether or not it beat an earlier champion of this workdir.
    champion = load_version(result.tracking_uri, result.model_name, result.version)
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
             .join(true_intent_probability(world, scoring_date, args.horizon,
                                           paths=args.oracle_paths), on="person_id")
             .join(true_intent_probability(world, scoring_date, args.horizon,
                                           paths=args.oracle_paths, seed=1)
                   .select("person_id", oracle_other_seed="true_probability"), on="person_id")
             .join(clairvoyant_intent_probability(world, scoring_date, args.horizon),
                   on="person_id")
             .join(realised_intent(world, scoring_date, args.horizon), on="person_id"))
    outcome = truth["had_intent"].cast(pl.Int8).to_numpy()
    truth.write_parquet(args.workdir / "scores.parquet")  # for analyses after the run
    rows = {name: evaluate(outcome, truth[column].to_numpy()) for name, column in
            (("model", "model"), ("baseline", "baseline"), ("oracle", "true_probability"),
             ("clairvoyant", "clairvoyant_probability"))}
    oracle_auc, clairvoyant_auc = rows["oracle"]["roc_auc"], rows["clairvoyant"]["roc_auc"]
    other_seed_auc = evaluate(outcome, truth["oracle_other_seed"].to_numpy())["roc_auc"]

    print(f"\nworld: {args.persons} persons, {args.days} days, world seed {args.seed}, "
          f"training seed {settings.seed}; scored {truth.height} profiled persons as of "
          f"{scoring_date}, horizon {args.horizon} days; realised positive rate "
          f"{outcome.mean():.4f} ({int(outcome.sum())} positives)")
    # The AUC each ranking has in expectation over outcomes drawn from the oracle's
    # probabilities: the same target without the realised outcomes' sampling noise. Not for
    # the clairvoyant, whose scores know more than the oracle's probabilities.
    oracle_probability = truth["true_probability"].to_numpy()
    expected_aucs = {name: expected_roc_auc(oracle_probability, truth[column].to_numpy())
                     for name, column in (("model", "model"), ("baseline", "baseline"),
                                          ("oracle", "true_probability"))}
    print(f"{'':12}{'AUC':>8}{'± se':>8}{'PR-AUC':>9}{'lift@10%':>10}{'ECE':>9}{'log loss':>10}"
          f"{'headroom':>10}{'lift hr.':>9}{'vs clairv.':>11}{'E[AUC]':>9}{'E-headroom':>11}")
    for name, metrics in rows.items():
        headroom = (metrics["roc_auc"] - 0.5) / (oracle_auc - 0.5)
        lift_headroom = ((metrics["lift_at_10pct"] - 1)
                         / (rows["oracle"]["lift_at_10pct"] - 1))
        against_clairvoyant = (metrics["roc_auc"] - 0.5) / (clairvoyant_auc - 0.5)
        expected = (f"{expected_aucs[name]:9.4f}"
                    f"{(expected_aucs[name] - 0.5) / (expected_aucs['oracle'] - 0.5):11.3f}"
                    if name in expected_aucs else f"{'n/a':>9}{'n/a':>11}")
        print(f"{name:12}{metrics['roc_auc']:8.4f}"
              f"{auc_standard_error(outcome, metrics['roc_auc']):8.4f}"
              f"{metrics['pr_auc']:9.4f}{metrics['lift_at_10pct']:10.2f}{metrics['ece']:9.4f}"
              f"{metrics['log_loss']:10.4f}{headroom:10.3f}{lift_headroom:9.3f}"
              f"{against_clairvoyant:11.3f}{expected}")
    print("headroom = (AUC - 0.5) / (oracle AUC - 0.5), the goal's figure; lift hr. = (lift@10% "
          "- 1) / (oracle's lift@10% - 1); vs clairv. = (AUC - 0.5) / (clairvoyant AUC - 0.5);\nE[AUC] = expected AUC over "
          "outcomes drawn from the oracle's probabilities (no outcome noise), E-headroom its "
          "headroom")
    print(f"headroom standard error (bootstrap over persons, 200 resamples, seed 0): "
          f"{bootstrap_headroom_error(outcome, truth['model'].to_numpy(), oracle_probability):.3f}")
    print(f"oracle Monte Carlo: {args.oracle_paths} paths, seeds 0 and 1: AUC "
          f"{oracle_auc:.5f} vs {other_seed_auc:.5f}; largest per-person standard error "
          f"{truth['mc_standard_error'].max():.5f}")
    corr = np.corrcoef(truth["model"].to_numpy(), truth["true_probability"].to_numpy())[0, 1]
    print(f"correlation of model score with the oracle probability: {corr:.3f}")
    print(f"\nfeatures at the scoring date: {build.persons} persons in {build.seconds:.1f} s")
    print(f"scoring: {len(X)} persons in {score_seconds:.2f} s "
          f"({len(X) / score_seconds:,.0f}/s); {len(X_large):,} rows in {large_seconds:.2f} s "
          f"({len(X_large) / large_seconds:,.0f}/s)")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB; "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}; cpus {os.cpu_count()}; "
          f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
