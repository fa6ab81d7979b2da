"""The champion's health after each scoring run: `/model-health` (for everyone signed in)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from monitoring.health import whole_history_features
from monitoring.health_file import read_health
from portal import charts
from portal.access import PageSession
from portal.state import Portal
from portal.templating import render

router = APIRouter()
# The newest matured scoring runs whose deciles the page draws, newest first.
DECILE_CHARTS = 3
DRIFTED_FEATURES = 10


@router.get("/model-health", response_class=HTMLResponse)
def show_model_health(request: Request, portal: Portal, current: PageSession) -> HTMLResponse:
    report = read_health(portal.home.health_file)
    context = {"report": report}
    if report is not None and report.runs:
        dates = [run.as_of.isoformat() for run in report.runs]
        context["auc_chart"] = charts.lines_chart(dates, [
            ("backtest AUC", [run.roc_auc for run in report.runs]),
            ("test AUC at training", [run.test_roc_auc for run in report.runs]),
        ], "AUC after each scoring run against the model's test AUC",
            text=lambda value: f"{value:.3f}")
        context["lift_chart"] = charts.lines_chart(dates, [
            ("lift in the top 10 %", [run.lift_at_10pct for run in report.runs]),
        ], "Lift in the top 10 % after each scoring run")
        context["rates_chart"] = charts.lines_chart(dates, [
            ("realised intent rate", [run.base_rate for run in report.runs]),
            ("intent rate in training", [run.training_base_rate for run in report.runs]),
            ("no event in 30 days", [run.inactive_30d_share for run in report.runs]),
        ], "Base rate and inactive share after each scoring run",
            text=lambda value: f"{value * 100:.1f} %")
        context["decile_charts"] = [
            (run, charts.decile_pairs_chart(
                [(d.decile, d.mean_score, d.realised_rate) for d in run.deciles],
                f"Predicted against realised intent per decile, scored {run.as_of}"))
            for run in report.matured_runs[::-1][:DECILE_CHARTS]]
        newest = report.runs[-1]
        context["newest"] = newest
        context["drift_chart"] = charts.value_bars(
            [*newest.most_drifted(DRIFTED_FEATURES), ("score", newest.score_psi)],
            f"Population stability index against the training snapshot, scored {newest.as_of}",
            report.psi_threshold, exempt=whole_history_features())
    return render(request, "model_health.html", current, context)
