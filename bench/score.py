"""Benchmark: how fast scoring runs, against a bare LightGBM `booster.predict` on the same array.

Two parts, each in its own child process so peak RSS is its own:
1. the scoring step (`segments.scoring.predict_scores`) on N persons x F float32 features, for
   a bare LGBMClassifier and for the calibrated wrapper training produces
   (CalibratedClassifierCV over a FrozenEstimator), next to `booster.predict(X, num_threads)`;
2. `norrut score` end to end (`segments.scoring.score_persons`: read features of eligible
   persons from DuckDB, build the matrix, predict, store scores) on a smaller warehouse.
Prints the figures and writes bench/results/score.md.

    uv run --locked python bench/score.py [--persons 1000000] [--trees 50,100,200] [--e2e 200000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

STEP = """
import json, resource, sys, time
import numpy as np
import lightgbm
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from segments.scoring import predict_scores

persons, n_features, threads = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
tree_counts = [int(value) for value in sys.argv[4].split(",")]
rng = np.random.default_rng(0)
train = rng.random((50_000, n_features), dtype=np.float32)
label = (train[:, 0] + train[:, 1] * rng.random(50_000) > 0.9).astype(int)
matrix = rng.random((persons, n_features), dtype=np.float32)

def best_of(runs, fn):
    times = []
    for _ in range(runs):
        started = time.perf_counter(); fn(); times.append(time.perf_counter() - started)
    return min(times)

figures = {"models": []}
for trees in tree_counts:
    model = lightgbm.LGBMClassifier(n_estimators=trees, num_leaves=31, learning_rate=0.05,
                                    verbose=-1, n_jobs=threads).fit(train, label)
    calibrated = CalibratedClassifierCV(FrozenEstimator(model), method="isotonic").fit(
        train[:10_000], label[:10_000])
    figures["models"].append({
        "trees": model.booster_.num_trees(), "leaves": 31,
        "bare_booster_seconds": best_of(
            3, lambda: model.booster_.predict(matrix, num_threads=threads)),
        "lgbm_seconds": best_of(3, lambda: predict_scores(model, matrix, threads)),
        "calibrated_seconds": best_of(3, lambda: predict_scores(calibrated, matrix, threads)),
    })
figures["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(figures))
"""

END_TO_END = """
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, "tests")
from activation_fixtures import AS_OF, build_warehouse, make_population, register_champion
from segments.scoring import score_persons

persons, folder = int(sys.argv[1]), Path(sys.argv[2])
warehouse_path = folder / "warehouse.duckdb"
build_warehouse(warehouse_path, make_population(persons, maid_share=1.0))
tracking_uri = f"sqlite:///{folder / 'mlflow.db'}"
register_champion(tracking_uri, folder / "artifacts", n_estimators=int(sys.argv[3]))
started = time.perf_counter()
result = score_persons(warehouse_path, AS_OF, tracking_uri, out=folder / "scores.csv")
print(json.dumps({
    "persons": result.persons_scored, "total_seconds": time.perf_counter() - started,
    "scoring_seconds": result.scoring_seconds,
    "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def _child(code: str, *args: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, check=True,
                          capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000, help="rows for the step test")
    parser.add_argument("--features", type=int, default=100, help="features per person")
    parser.add_argument("--threads", type=int, default=2, help="LightGBM threads")
    parser.add_argument("--trees", default="50,100,200", help="model sizes (trees, 31 leaves each)")
    parser.add_argument("--e2e", type=int, default=200_000, help="persons for end to end")
    parser.add_argument("--e2e-trees", type=int, default=100, help="trees of the end-to-end model")
    args = parser.parse_args()

    load_before = os.getloadavg()
    step = _child(STEP, str(args.persons), str(args.features), str(args.threads), args.trees)
    with tempfile.TemporaryDirectory(prefix="norrut-bench-score-") as folder:
        e2e = _child(END_TO_END, str(args.e2e), folder, str(args.e2e_trees))
    load_after = os.getloadavg()

    machine = (f"Machine: {os.cpu_count()} cores, {platform.platform()}; Python "
               f"{platform.python_version()}. os.getloadavg() before "
               f"{load_before[0]:.2f}/{load_before[1]:.2f}/{load_before[2]:.2f}, after "
               f"{load_after[0]:.2f}/{load_after[1]:.2f}/{load_after[2]:.2f} (other engineers were "
               "running work on the machine at the same time).")
    lines = [
        "# Scoring benchmark (`bench/score.py`)", "", machine, "",
        (f"## Scoring step: {args.persons:,} persons x {args.features} float32 features, "
         f"{args.threads} LightGBM threads (best of 3)"),
        "",
        "| model | path | seconds | persons/s | ratio to bare booster |",
        "|---|---|---:|---:|---:|",
    ]
    paths = (("bare_booster", "bare `booster.predict` (baseline)"),
             ("lgbm", "`predict_scores`, LGBMClassifier"),
             ("calibrated", "`predict_scores`, calibrated (isotonic) wrapper"))
    for model in step["models"]:
        for key, label in paths:
            seconds = model[f"{key}_seconds"]
            lines.append(f"| {model['trees']} trees x {model['leaves']} leaves | {label} | "
                         f"{seconds:.3f} | {args.persons / seconds:,.0f} | "
                         f"{seconds / model['bare_booster_seconds']:.2f} |")
    e2e_note = ("Reads the features of eligible persons from DuckDB, builds the float32 matrix, "
                "predicts, stores the scores in one transaction and writes the generic CSV.")
    lines += [
        "",
        (f"Peak RSS of the step process: {step['peak_rss_mib']:,.0f} MiB (the matrix alone is "
         f"{args.persons * args.features * 4 / 2**20:,.0f} MiB)."),
        "",
        f"## `score_persons` end to end: {e2e['persons']:,} persons, {args.e2e_trees} trees",
        "",
        e2e_note,
        "",
        "| figure | value |",
        "|---|---:|",
        f"| total seconds | {e2e['total_seconds']:.2f} |",
        f"| persons/s end to end | {e2e['persons'] / e2e['total_seconds']:,.0f} |",
        f"| scoring step seconds | {e2e['scoring_seconds']:.3f} |",
        f"| scoring step persons/s | {e2e['persons'] / e2e['scoring_seconds']:,.0f} |",
        f"| peak RSS (MiB) | {e2e['peak_rss_mib']:,.0f} |",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    (ROOT / "bench" / "results" / "score.md").write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
