"""The run summaries the marketing team reads, built from the plain functions' reports."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from activation.export_run import ExportRunReport, SegmentOutcome
from activation.exporters.base import WrittenFile
from flows import reports
from models.promotion import PromotionResult
from models.training import TrainResult
from warehouse.ingest.reports import FileResult, IngestReport
from warehouse.optout import OptoutReport


def test_a_pipe_in_a_cell_does_not_break_the_table():
    table = reports.markdown_table(["file", "why"], [("a|b.csv", "line\nbreak")])
    assert table.splitlines()[2] == "| a\\|b.csv | line break |", table


def test_ingest_summary_counts_files_rows_and_reasons():
    # given one loaded file with quarantined rows and one unreadable file
    report = IngestReport(files=[
        FileResult("a.csv", "sha-a", "loaded", "csv", rows_read=10, rows_loaded=8,
                   rows_quarantined=2, quarantined_by_reason={"pii_email": 1, "bad_device": 1}),
        FileResult("b.jsonl.gz", "sha-b", "quarantined", failure_reason="unreadable_file"),
    ], catalog=None, seconds=1.0)
    # when summarised
    text = reports.ingest_markdown(report)
    # then the totals, each file with its result and each reason are there
    assert "**8** new events loaded from 1 file(s)" in text, text
    assert "**2** row(s) and 1 whole file(s) were quarantined" in text, text
    assert "| b.jsonl.gz | quarantined | 0 | 0 | 0 | unreadable_file |" in text, text
    assert "| pii_email | 1 |" in text and "| bad_device | 1 |" in text, text


def test_an_empty_inbox_says_so():
    text = reports.ingest_markdown(IngestReport(files=[], catalog=None, seconds=0.1))
    assert "The inbox held no event files." in text, text


def _train_result(decision: str | None) -> TrainResult:
    metrics = {"roc_auc": 0.71, "pr_auc": 0.2, "log_loss": 0.19, "brier": 0.05,
               "lift_at_10pct": 2.5}
    promotion = None if decision is None else PromotionResult(
        model_name="curious-about-working-here", version="4", decision=decision,
        reason="AUC not higher than the champion's (AUC 0.7100 vs 0.7300)",
        previous_champion="3", test_snapshot=date(2026, 10, 5), candidate_metrics=metrics,
        champion_metrics={**metrics, "roc_auc": 0.73})
    return TrainResult(
        run_id="run-4", model_name="curious-about-working-here", version="4",
        tracking_uri="sqlite:///x.db", snapshots={}, rows={"training": 1200},
        positive_rates={}, best_iteration=50, calibration="isotonic", test_metrics=metrics,
        baseline_test_metrics={**metrics, "roc_auc": 0.6}, seconds=12.0, promotion=promotion)


def test_training_summary_compares_with_the_champion_and_gives_the_decision():
    # given a new version that did not beat champion v3
    text = reports.training_markdown(_train_result("challenger"))
    # then the decision, its reason and the metrics side by side are there
    assert "**Not promoted**: the champion stays" in text, text
    assert "AUC not higher than the champion's" in text, text
    assert "| test metric | this version | champion v3 | baseline |" in text, text
    assert "| roc_auc | 0.7100 | 0.7300 | 0.6000 |" in text, text


def test_training_summary_without_promotion_says_so():
    text = reports.training_markdown(_train_result(None))
    assert "promotion was switched off" in text, text


def test_export_summary_lists_written_and_skipped_segments_and_the_folder():
    # given one written segment and one too small to export
    written = SegmentOutcome("top-decile", selected=5000, holdout=500, exported=4500,
                             min_audience_size=1000,
                             files=[WrittenFile("generic", "generic.csv", 4500, 1, "x")],
                             destinations_skipped=[{"destination": "google_ads",
                                                    "reason": "no app id"}])
    skipped = SegmentOutcome("coast-lovers", selected=300, holdout=0, exported=0,
                             min_audience_size=1000, skipped_reason="smaller than 1000")
    report = ExportRunReport(date(2026, 11, 2), 3, Path("/data/exports/2026-11-02/v3"),
                             "2026-11-02T05:00:00Z",
                             {"name": "curious-about-working-here", "version": "4"},
                             [written, skipped])
    # when summarised
    text = reports.export_markdown(report)
    # then both are there with their reasons, and the folder holding the files
    assert "**1** segment(s) written, **1** skipped" in text, text
    assert "generic.csv (4,500 rows)" in text and "google_ads: no app id" in text, text
    assert "| coast-lovers | 300 | 1,000 | smaller than 1000 |" in text, text
    assert "`/data/exports/2026-11-02/v3`" in text, text


def test_optout_summary_counts_persons_and_removed_rows():
    report = OptoutReport(run_id="r", persons_requested=3, erasures=2, objections=1,
                          rows_removed={"raw.events": 40, "features.person_features": 0},
                          rejected=[(4, "bad_person_id")])
    text = reports.optout_markdown(report)
    assert "**3** person(s) asked to opt out: 2 erasure(s) and 1 objection(s)" in text, text
    assert "| raw.events | 40 |" in text and "person_features" not in text, text
    assert "| bad_person_id | 1 |" in text, text
