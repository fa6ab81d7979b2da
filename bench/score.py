"""Benchmark: how fast the real champion scores, against a bare LightGBM `booster.predict`.

The model is the one `models` trains: a world is simulated and ingested once (as
`bench/model.py` does, cached in --workdir), `models.training.train_model` trains, calibrates,
registers and promotes it as of --as-of, and the scoring step loads it back through
`models.registry.load_champion` (`models:/<name>@champion`), exactly as `norrut score`
does. The persons to score are the profiled persons' real feature rows at --as-of, drawn with
replacement up to --persons rows, so the matrix has the real mix of zeros and missing values.

Each part runs in its own child process (peak RSS its own), with `configure_threads()` before
LightGBM is imported:
1. the scoring step: `models.prediction.predict_scores` (the production path), the same step on
   the champion's LightGBM part alone (what scoring cost before the log-odds blend), the blend's
   folded logistic part alone, the bare `booster.predict` (no calibration) and the sklearn
   `predict_proba` of the calibrated model, each timed --repeats times (median shown, with the
   process CPU seconds, which the other jobs on the machine inflate less than wall time);
2. `norrut score` end to end (`activation.scoring.score_persons`) on the simulated warehouse.
Training with the defaults blends LightGBM with the logistic baseline when that ranks better on
validation (on the default world it does); the report states the champion's blend weight.
Prints the figures with os.getloadavg() and appends them, dated, to bench/results/score.md.

    .venv/bin/python bench/score.py [--persons 1000000] [--threads 2] [--workdir DIR] [--retrain]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TRAIN = """
import json, sys
from datetime import date
from models.threads import configure_threads
configure_threads()
from models.settings import TrainSettings
from models.training import train_model
from core.home import NorrutHome
result = train_model(TrainSettings(as_of=date.fromisoformat(sys.argv[2])), NorrutHome.resolve(sys.argv[1]))
print(json.dumps({"version": result.version, "test_roc_auc": result.test_metrics["roc_auc"],
                  "best_iteration": result.best_iteration, "calibration": result.calibration,
                  "lightgbm_weight": result.lightgbm_weight}))
"""

STEP = """
import json, os, resource, sys, time
from datetime import date
from models.threads import configure_threads
configure_threads()
import numpy as np
from core.home import NorrutHome
from features.build import load_feature_frame
from models.registry import load_champion as load_champion_model
from models.estimators import FoldedLogistic, LogOddsBlend
from models.prediction import predict_scores
from activation.scoring import feature_matrix
from models.settings import DEFAULT_MODEL_NAME
from warehouse.db import open_warehouse

home, as_of = NorrutHome.resolve(sys.argv[1]), date.fromisoformat(sys.argv[2])
persons, threads, repeats = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
champion = load_champion_model(home.mlflow_tracking_uri, DEFAULT_MODEL_NAME)
with open_warehouse(home.warehouse_path) as con:
    frame = load_feature_frame(con, as_of)
rows = feature_matrix(frame, champion.feature_names)
rng = np.random.default_rng(0)
matrix = np.ascontiguousarray(rows[rng.integers(0, len(rows), persons)])
model = champion.model
inner = model.calibrated_classifiers_[0].estimator.estimator
lightgbm_model = inner.lightgbm_model if isinstance(inner, LogOddsBlend) else inner
booster = lightgbm_model.booster_

def median_of(runs, fn):
    times, cpu, loads = [], [], []
    for _ in range(runs):
        started, cpu_started = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        loads.append(os.getloadavg()[0])
    return float(np.median(times)), times, loads, float(np.median(cpu))

fast = predict_scores(model, matrix, threads)
slow = model.predict_proba(matrix)[:, 1]
figures = {
    "features": matrix.shape[1], "trees": booster.num_trees(),
    "leaves": int(lightgbm_model.num_leaves),
    "lightgbm_weight": float(getattr(inner, "lightgbm_weight", 1.0)),
    "calibration": model.method, "version": champion.version,
    "distinct_rows": len(rows), "max_abs_difference": float(np.max(np.abs(fast - slow))),
}
paths = [("predict_scores", lambda: predict_scores(model, matrix, threads)),
         ("lightgbm_alone", lambda: predict_scores(lightgbm_model, matrix, threads))]
if isinstance(inner, LogOddsBlend):
    linear_part = FoldedLogistic.of(inner.linear_model)
    paths.append(("logistic_part", lambda: linear_part.log_odds(matrix, threads)))
paths += [("bare_booster", lambda: booster.predict(matrix, num_threads=threads)),
          ("sklearn_predict_proba", lambda: model.predict_proba(matrix))]
for key, fn in paths:
    figures[key] = median_of(repeats if key != "sklearn_predict_proba" else 3, fn)
figures["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(figures))
"""

END_TO_END = """
import json, resource, sys, time
from datetime import date
from models.threads import configure_threads
configure_threads()
from core.home import NorrutHome
from features.build import build_features
from activation.scoring import score_persons
home, as_of = NorrutHome.resolve(sys.argv[1]), date.fromisoformat(sys.argv[2])
build_features(home.warehouse_path, as_of)  # the features `norrut score` reads; not timed
started = time.perf_counter()
result = score_persons(home.warehouse_path, as_of, home.mlflow_tracking_uri,
                       out=home.root / "scores.csv")
print(json.dumps({
    "persons": result.persons_scored, "total_seconds": time.perf_counter() - started,
    "scoring_seconds": result.scoring_seconds,
    "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def _child(code: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, check=True,
                          capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    return json.loads(done.stdout.strip().splitlines()[-1])


def _norrut(home: Path, *args: str) -> None:
    norrut = Path(sys.executable).parent / "norrut"
    subprocess.run([str(norrut), "--home", str(home), *args], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)


def _prepare(workdir: Path, persons: int, days: int, seed: int, as_of: date,
             retrain: bool) -> dict | None:
    world, home = workdir / "world", workdir / "home"
    if not (world / "world.json").exists():
        _norrut(home, "simulate", str(world), "--persons", str(persons), "--days", str(days),
                "--seed", str(seed))
    if not (home / "warehouse.duckdb").exists():
        _norrut(home, "ingest", str(world / "inbox"), "--catalog", str(world / "catalog.csv"))
    if retrain or not (home / "mlflow" / "mlflow.db").exists():
        # A fresh store: the new model becomes the champion whatever an earlier one scored.
        shutil.rmtree(home / "mlflow", ignore_errors=True)
        started = time.perf_counter()
        trained = _child(TRAIN, str(home), as_of.isoformat())
        trained["seconds"] = time.perf_counter() - started
        return trained
    return None


def _load() -> str:
    return "/".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000, help="rows for the step test")
    parser.add_argument("--threads", type=int, default=2, help="LightGBM threads")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per path (median)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/norrut-bench-score"),
                        help="simulated world, warehouse and MLflow store (reused if present)")
    parser.add_argument("--world-persons", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 11, 2),
                        help="training and scoring date (the day after the simulated inbox)")
    parser.add_argument("--retrain", action="store_true", help="train a new champion first (in a fresh MLflow store)")
    args = parser.parse_args()

    trained = _prepare(args.workdir, args.world_persons, args.days, args.seed, args.as_of,
                       args.retrain)
    home = str(args.workdir / "home")
    load_before = _load()
    e2e = _child(END_TO_END, home, args.as_of.isoformat())  # also builds features at as_of
    step = _child(STEP, home, args.as_of.isoformat(), str(args.persons), str(args.threads),
                  str(args.repeats))
    load_after = _load()

    blend = step["lightgbm_weight"] < 1.0
    model_kind = (f"LogOddsBlend of LightGBM (weight {step['lightgbm_weight']:g}) and the "
                  "logistic baseline" if blend else "LightGBM alone (blend weight 1)")
    lines = [
        f"## Run of {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC", "",
        (f"Machine: {os.cpu_count()} cores, 24 GiB, {platform.platform()}; Python "
         f"{platform.python_version()}; shared with other engineers' jobs. os.getloadavg() "
         f"before {load_before}, after {load_after} (1/5/15 min; 2 = both cores busy)."), "",
        (f"Champion: version {step['version']} of `models`' real model, trained on a simulated "
         f"world ({args.world_persons:,} persons, {args.days} days, seed {args.seed}) as of "
         f"{args.as_of}: {model_kind}; LightGBM {step['trees']} trees x {step['leaves']} leaves "
         f"over {step['features']} features, {step['calibration']} calibration, loaded from "
         "`models:/<name>@champion`."),
    ]
    if trained:
        lines.append(f"Trained in this run: {trained['seconds']:.0f} s, test AUC "
                     f"{trained['test_roc_auc']:.4f}, blend weight chosen on validation "
                     f"{trained['lightgbm_weight']:g}.")
    lines += [
        "",
        (f"### Scoring step: {args.persons:,} persons (real feature rows of "
         f"{step['distinct_rows']:,} profiled persons, drawn with replacement), "
         f"{args.threads} threads"),
        "",
        "| path | median seconds | persons/s | median CPU s | all runs (s) | 1-min load per run |",
        "|---|---:|---:|---:|---|---|",
    ]
    labels = (("predict_scores", "`predict_scores` of the champion (production: "
                                 + ("booster + folded logistic + " if blend else "booster + ")
                                 + "vectorised calibration)"),
              ("lightgbm_alone", ("`predict_scores` of the champion's LightGBM part alone "
                                  "(booster-only cost)")),
              ("logistic_part", "the blend's folded logistic log-odds alone"),
              ("bare_booster", "bare `booster.predict`, no calibration (reference)"),
              ("sklearn_predict_proba", "sklearn `predict_proba` of the calibrated model"))
    for key, label in labels:
        if key not in step:
            continue
        median, runs, loads, cpu = step[key]
        lines.append(f"| {label} | {median:.3f} | {args.persons / median:,.0f} | {cpu:.2f} | "
                     f"{', '.join(f'{r:.2f}' for r in runs)} | "
                     f"{', '.join(f'{x:.1f}' for x in loads)} |")
    lines += [
        "",
        (f"`predict_scores` and `predict_proba` agree to {step['max_abs_difference']:.1e}. "
         f"Peak RSS of the step process: {step['peak_rss_mib']:,.0f} MiB (the matrix is "
         f"{args.persons * step['features'] * 4 / 2**20:,.0f} MiB)."),
        "",
        f"### `score_persons` end to end: {e2e['persons']:,} persons",
        "",
        ("After the features for the date are built (not timed): reads the features of eligible persons from DuckDB, builds the float32 "
         "matrix, predicts, stores the scores in one transaction and writes the generic CSV."),
        "",
        "| figure | value |",
        "|---|---:|",
        f"| total seconds | {e2e['total_seconds']:.2f} |",
        f"| scoring step seconds | {e2e['scoring_seconds']:.3f} |",
        f"| scoring step persons/s | {e2e['persons'] / e2e['scoring_seconds']:,.0f} |",
        f"| peak RSS (MiB) | {e2e['peak_rss_mib']:,.0f} |",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    results = ROOT / "bench" / "results" / "score.md"
    history = (results.read_text(encoding="utf-8") if results.exists()
               else "# Scoring benchmark (`bench/score.py`)\n")
    results.write_text(history.rstrip("\n") + "\n\n" + report, encoding="utf-8")


if __name__ == "__main__":
    main()
