"""Builds realistic export runs on disk for the portal tests (layout of docs/INTERFACES.md).

Files hold real rows in each destination's format, and the manifests carry their real
SHA-256s, sizes and row counts, as the export writer makes them.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from random import Random

from argon2 import PasswordHasher

from portal.users import UserStore

# Cheap argon2 parameters: the tests check behaviour, not hashing cost. The portal verifies
# with the parameters stored in each hash, so accounts made here sign in quickly.
FAST_TEST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

MODEL = {
    "name": "curious-about-working-here",
    "version": "3",
    "run_id": "0f4c2a9be1d54c7f9a0c7d2f3b1e6a55",
    "test_metrics": {"roc_auc": 0.81, "lift_at_10pct": 3.2},
}


@dataclass(frozen=True)
class BuiltSegment:
    folder: Path
    manifest: dict
    file_bytes: dict[str, bytes]  # file name -> exact content written


def write_export_run(exports_dir: Path, as_of: str = "2026-11-01", version: int = 1,
                     segments: tuple[str, ...] = ("top-decile",), persons: int = 200,
                     holdout: int = 20, with_optional: bool = True,
                     segments_skipped: tuple[tuple[str, str], ...] = (
                         ("nature-curious-stockholm", "1,000 people needed, 412 found"),),
                     ) -> dict[str, BuiltSegment]:
    """One export run folder with `run.json` and a folder per segment; returns what was written."""
    run_folder = exports_dir / as_of / f"v{version}"
    run_folder.mkdir(parents=True)
    built = {name: _write_segment(run_folder / name, name, as_of, version, persons, holdout,
                                  with_optional)
             for name in segments}
    run_info = {
        "manifest_version": 1, "as_of": as_of, "version": version,
        "created_at": f"{as_of}T05:00:03Z", "model": MODEL,
        "segments_written": list(segments),
        "segments_skipped": [{"segment": name, "reason": reason}
                             for name, reason in segments_skipped],
    }
    (run_folder / "run.json").write_text(json.dumps(run_info, indent=2), encoding="utf-8")
    return built


def _write_segment(folder: Path, name: str, as_of: str, version: int, persons: int,
                   holdout: int, with_optional: bool) -> BuiltSegment:
    folder.mkdir()
    random = Random(f"{name}-{as_of}-{version}")
    ids = [str(uuid.UUID(int=random.getrandbits(128), version=4)) for _ in range(persons)]
    scores = sorted((random.uniform(0.02, 0.6) for _ in ids), reverse=True)
    generic_lines = ["person_id,id_type,score,rank,decile"] + [
        f"{person},maid,{score:.6f},{rank},{min(10, (rank - 1) * 10 // persons + 1)}"
        for rank, (person, score) in enumerate(zip(ids, scores, strict=True), start=1)
    ]
    contents = {
        "generic.csv": ("generic", "\n".join(generic_lines) + "\n"),
        "meta.csv": ("meta", "madid\n" + "\n".join(ids) + "\n"),
        "the_trade_desk-0001.json": ("the_trade_desk", _trade_desk_part(ids[: persons // 2], name)),
        "the_trade_desk-0002.json": ("the_trade_desk", _trade_desk_part(ids[persons // 2:], name)),
    }
    files, file_bytes = [], {}
    for file_name, (destination, text) in contents.items():
        data = text.encode("utf-8")
        (folder / file_name).write_bytes(data)
        file_bytes[file_name] = data
        rows = text.count("\n") - 1 if file_name.endswith(".csv") else text.count('"DAID"')
        files.append({"destination": destination, "file": file_name, "rows": rows,
                      "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    manifest = {
        "manifest_version": 1,
        "segment": {"name": name, "description": f"The people most likely to be curious ({name})",
                    "definition": {"kind": "top_deciles", "deciles": 1}},
        "as_of": as_of, "export_version": version, "created_at": f"{as_of}T05:00:03Z",
        "model": MODEL,
        "audience": {"selected": persons + holdout, "holdout": holdout, "exported": persons,
                     "min_audience_size": 100},
        "files": files,
        "destinations_skipped": [
            {"destination": "tiktok", "reason": f"TikTok needs at least 1,000 people; {persons} "
                                                 "in this audience"}],
        "settings": {"the_trade_desk_advertiser_id": "adv-norrut-1"},
    }
    if with_optional:
        manifest["gains_by_decile"] = [
            {"decile": decile, "persons": persons // 10, "mean_score": 0.5 - decile * 0.04,
             "cumulative_gain": min(1.0, 0.28 + (decile - 1) * 0.08)}
            for decile in range(1, 11)
        ]
        manifest["interest_profile"] = {
            "themes": [{"theme": "northern_lights", "share": 0.31},
                       {"theme": "engineering_jobs", "share": 0.22},
                       {"theme": "family_life", "share": 0.17},
                       {"theme": "winter_outdoor", "share": 0.12}],
            "regions": [{"region": "SE-AB", "share": 0.41}, {"region": "SE-O", "share": 0.23},
                        {"region": "DE", "share": 0.09}],
        }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return BuiltSegment(folder, manifest, file_bytes)


def _trade_desk_part(ids: list[str], segment: str) -> str:
    items = [{"DAID": person, "Data": [{"Name": segment, "TtlInMinutes": 43200}]}
             for person in ids]
    return json.dumps({"AdvertiserId": "adv-norrut-1", "Items": items})


def write_lift_result(exports_dir: Path, campaign: str = "winter-2026-meta") -> Path:
    folder = exports_dir / "lift"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{campaign}.json"
    path.write_text(json.dumps({
        "lift_version": 1, "campaign": campaign, "segment": "top-decile",
        "as_of": "2026-11-01", "export_version": 1, "destination": "meta",
        "period": {"start": "2026-11-03", "end": "2026-11-30"},
        "measured_at": "2026-12-02T06:00:00Z",
        "treated": {"persons": 4500, "converted": 270},
        "holdout": {"persons": 500, "converted": 15},
        "relative_lift_ci95": [0.2, 3.1],
    }), encoding="utf-8")
    return path


def add_user(users_file: Path, name: str, password: str, *, is_admin: bool = False) -> None:
    UserStore(users_file, FAST_TEST_HASHER).add(name, password, is_admin=is_admin)


def write_health_report(health_file: Path, runs: int = 3) -> Path:
    """A monitor's health file: `runs` weekly scoring runs of version 1, all but the newest
    matured, the newest with one drifted feature (the alarm)."""
    from datetime import UTC, date, datetime, timedelta

    from monitoring.health_file import write_health
    from monitoring.report import DecileOutcome, HealthReport, RunHealth

    first = date(2026, 10, 5)
    healths = []
    for index in range(runs):
        as_of = first + timedelta(days=7 * index)
        matured = index < runs - 1
        deciles = [DecileOutcome(decile=d, persons=2500, persons_with_intent=int(400 / d),
                                 mean_score=0.16 / d, realised_rate=(400 / d) / 2500)
                   for d in range(1, 11)] if matured else []
        healths.append(RunHealth(
            as_of=as_of, model_name="curious-about-working-here", model_version="1",
            model_run_id="run-1", horizon_days=14, matures_on=as_of + timedelta(days=14),
            matured=matured, persons_scored=25_000, reference_as_of=date(2026, 9, 21),
            inactive_30d_share=0.3 + 0.01 * index, score_psi=0.02 * (index + 1),
            feature_psi={"n_view_7d": 0.05 + 0.15 * index, "n_click_30d": 0.04},
            training_base_rate=0.05, test_roc_auc=0.72, deciles=deciles,
            persons=25_000 if matured else None, base_rate=0.05 if matured else None,
            roc_auc=0.71 - 0.01 * index if matured else None,
            lift_at_10pct=3.1 if matured else None, ece=0.006 if matured else None))
    alarm = (f"{healths[-1].label}: population stability index above 0.2 for 1 feature(s): "
             f"n_view_7d {healths[-1].feature_psi['n_view_7d']:.3f}")
    report = HealthReport(model_name="curious-about-working-here",
                          measured_at=datetime(2026, 11, 2, 6, tzinfo=UTC),
                          last_event_on=date(2026, 11, 1), psi_threshold=0.2, max_auc_drop=0.03,
                          max_calibration_error=0.02, runs=healths, alarms=[alarm])
    return write_health(health_file, report)


# (dimension, item, title, n engaged, n not engaged matched, adjusted difference, its se);
# an item under CREATIVE_MIN_PERSONS in a group is unranked.
CREATIVE_ITEMS = (
    ("content", "film-003", "Mountains in Kiruna", 1200, 800, 0.15, 0.02),
    ("content", "img-010", "Coast in Luleå", 300, 250, 0.04, 0.03),
    ("content", "film-005", "A week of food in Umeå", 800, 1200, 0.01, 0.025),
    ("content", "film-099", "Forest in Boden", 12, 9, 0.30, 0.2),
    ("theme", "northern_lights", None, 2000, 1500, 0.06, 0.015),
    ("theme", "tech_jobs", None, 900, 1100, 0.03, 0.02),
    ("campaign", "norrut-2026-meta-1", None, 700, 900, 0.02, 0.02),
    ("campaign", "norrut-2026-tiktok-2", None, 40, 30, -0.05, 0.1),
)
CREATIVE_MIN_PERSONS = 100
CREATIVE_AS_OF = "2026-11-02"


def write_creative_report(exports_dir: Path) -> Path:
    """The report file of CREATIVE_ITEMS (`<exports_dir>/creatives/<as_of>.json`), as
    `norrut creatives` writes it for the portal's "What works" page."""
    from datetime import date, datetime

    import polars as pl

    from insight.report_file import REPORT_SCHEMA, StoredReport, write_report_file

    rows = []
    for dimension, item, title, engaged, matched, difference, se in CREATIVE_ITEMS:
        comparison = 0.06
        rows.append({
            "as_of_date": date.fromisoformat(CREATIVE_AS_OF), "dimension": dimension,
            "item_id": item, "title": title,
            "kind": ("film" if item.startswith("film") else "image")
            if dimension == "content" else None,
            "is_ranked": min(engaged, matched) >= CREATIVE_MIN_PERSONS, "rank": None,
            "n_shown": engaged + matched + 5, "n_engaged": engaged,
            "n_engaged_with_intent": round(engaged * (comparison + difference)),
            "n_not_engaged": matched + 5, "n_not_engaged_with_intent": round(matched * comparison),
            "engaged_intent_rate": comparison + difference, "not_engaged_intent_rate": comparison,
            "raw_difference": difference + 0.01, "n_engaged_matched": engaged,
            "n_not_engaged_matched": matched,
            "matched_engaged_intent_rate": comparison + difference,
            "matched_comparison_intent_rate": comparison, "adjusted_difference": difference,
            "adjusted_difference_se": se, "ci_low": difference - 1.96 * se,
            "ci_high": difference + 1.96 * se,
        })
    frame = pl.DataFrame(rows, schema=REPORT_SCHEMA).with_columns(
        pl.when(pl.col("is_ranked")).then(
            pl.col("ci_low").rank("ordinal", descending=True).over("dimension", "is_ranked"))
        .cast(pl.Int32).alias("rank"))
    day = date.fromisoformat(CREATIVE_AS_OF)
    run = {"as_of_date": day, "exposure_start": date(2026, 9, 21),
           "outcome_start": date(2026, 10, 19), "horizon_days": 14,
           "intent_types": ["job_click", "guide_download", "inquiry", "signup",
                            "fair_registration"],
           "engagement_types": ["view", "video_progress", "click", "share", "reaction",
                                "comment"],
           "strata": 10, "min_persons": CREATIVE_MIN_PERSONS,
           "model_name": "curious-about-working-here", "model_version": "3",
           "model_run_id": "run-123", "persons_scored": 4800,
           "created_at": datetime(2026, 11, 2, 6, 0, 3)}
    return write_report_file(exports_dir, StoredReport(run, frame))
