"""Run summaries in markdown, built from the plain functions' reports. This is what the
marketing team reads in each run's Artifacts tab, so it says what happened in words."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from core.contract import WITHHELD_FILE_NAME, looks_like_personal_file_name


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A GitHub-style markdown table; `|` inside a cell is escaped so columns stay aligned."""
    def cell(value: object) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def shown_file_name(name: str) -> str:
    """A file's name as a summary shows it: withheld when it looks personal (an event file's
    name already arrives withheld, with its hash; a catalog's is withheld here)."""
    if name.startswith(WITHHELD_FILE_NAME) or not looks_like_personal_file_name(name):
        return name
    return WITHHELD_FILE_NAME


def features_markdown(result, as_of: date) -> str:
    """Summary of one feature build (a features.build.FeatureBuildResult)."""
    return "\n".join([
        f"## Features as of {as_of.isoformat()}",
        "",
        (f"Built {result.features} features for **{result.persons:,}** persons who may be "
        f"profiled (feature set {result.feature_set_version}) in {result.seconds:.1f} s."),
    ])


def scoring_markdown(result, features_built=None) -> str:
    """Summary of one scoring run (a activation.scoring.ScoreResult), saying so when the run
    built the date's features first (`features_built`, a features.build.FeatureBuildResult)."""
    lines = [
        f"## Scores as of {result.as_of.isoformat()}",
        "",
        (f"Scored **{result.persons_scored:,}** persons with model {result.model_name} "
        f"version {result.model_version} (MLflow run `{result.model_run_id}`) "
        f"in {result.total_seconds:.1f} s."),
    ]
    if features_built is not None:
        lines += ["", (f"No features had been built for {result.as_of.isoformat()}, so this run "
                       f"built them first: {features_built.features} features for "
                       f"{features_built.persons:,} persons in {features_built.seconds:.1f} s.")]
    return "\n".join(lines)


def ingest_markdown(report) -> str:
    """Summary of one ingest run (a warehouse.ingest.IngestReport)."""
    lines = [
        "## Events loaded",
        "",
        (f"**{report.rows_loaded:,}** new events loaded from {report.files_loaded} file(s); "
        f"{report.files_already_loaded} file(s) were already loaded and were skipped."),
        (f"**{report.rows_quarantined:,}** row(s) and {report.files_quarantined} whole file(s) "
        "were quarantined; "
        f"{report.duplicates_skipped:,} duplicate event(s) were stored once; "
        f"{report.suppressed_dropped:,} event(s) of opted-out persons were dropped."),
    ]
    if report.files:
        lines += ["", "### Files", "", markdown_table(
            ["file", "result", "rows read", "loaded", "quarantined", "why quarantined"],
            [(shown_file_name(f.file_name), f.status, f"{f.rows_read:,}", f"{f.rows_loaded:,}",
              f"{f.rows_quarantined:,}", f.failure_reason or "") for f in report.files],
        )]
    else:
        lines += ["", "The inbox held no event files."]
    if report.catalog is not None:
        catalog = report.catalog
        lines += ["", f"Content catalog `{shown_file_name(catalog.file_name)}`: "
                  f"{catalog.rows_upserted:,} of {catalog.rows_read:,} row(s) loaded, {catalog.rows_rejected:,} rejected"
                  + (" (" + ", ".join(f"{reason}: {count}" for reason, count
                                      in catalog.rejected_by_reason.items()) + ")."
                     if catalog.rows_rejected else ".")]
    if report.quarantined_by_reason:
        lines += ["", "### Quarantined rows by reason", "", markdown_table(
            ["reason", "rows"],
            [(reason, f"{count:,}") for reason, count in report.quarantined_by_reason.items()],
        )]
    return "\n".join(lines)


def export_markdown(report) -> str:
    """Summary of one export run (a activation.export_run.ExportRunReport)."""
    written, skipped = report.segments_written, report.segments_skipped
    model = report.model
    lines = [
        f"## Segments as of {report.as_of.isoformat()} (export v{report.version})",
        "",
        (f"**{len(written)}** segment(s) written, **{len(skipped)}** skipped, "
        f"scored by model {model['name']} version {model['version']}."),
        "",
        f"Files: `{report.folder}` (download them from the segment portal, `norrut serve`).",
    ]
    if written:
        lines += ["", "### Written", "", markdown_table(
            ["segment", "selected", "holdout", "exported", "files", "destinations skipped"],
            [(s.name, f"{s.selected:,}", f"{s.holdout:,}", f"{s.exported:,}",
              ", ".join(f"{f.file} ({f.rows:,} rows)" for f in s.files + s.delta_files),
              "; ".join(f"{d['destination']}: {d['reason']}" for d in s.destinations_skipped))
             for s in written],
        )]
    if skipped:
        lines += ["", "### Skipped", "", markdown_table(
            ["segment", "selected", "minimum audience", "why"],
            [(s.name, f"{s.selected:,}", f"{s.min_audience_size:,}", s.skipped_reason)
             for s in skipped],
        )]
    return "\n".join(lines)


# The metrics a campaign manager can read: ranking quality, calibration and lift.
HEADLINE_METRICS = ("roc_auc", "pr_auc", "log_loss", "brier", "lift_at_10pct")


def _metric(metrics: dict[str, float] | None, name: str) -> str:
    if not metrics or name not in metrics:
        return "-"
    return f"{metrics[name]:.4f}"


def training_markdown(result) -> str:
    """Summary of one training run (a models.training.TrainResult)."""
    promotion = result.promotion
    lines = [
        f"## Model {result.model_name} version {result.version}",
        "",
        (f"Trained on {result.rows.get('training', 0):,} rows in {result.seconds:.0f} s "
        f"(MLflow run `{result.run_id}`)."),
        "",
    ]
    if promotion is None:
        lines.append("**Not promoted**: promotion was switched off for this run.")
        champion_metrics = None
        champion_label = "champion"
    else:
        verdict = {
            "champion": "**Promoted**: this version is now the champion that scoring uses",
            "challenger": "**Not promoted**: the champion stays; this version is the challenger",
            "already_champion": "**Already the champion**",
        }[promotion.decision]
        lines.append(f"{verdict}: {promotion.reason}.")
        champion_metrics = promotion.champion_metrics
        champion_label = (f"champion v{promotion.previous_champion}"
                          if promotion.previous_champion else "champion (none)")
    lines += ["", markdown_table(
        ["test metric", "this version", champion_label, "baseline"],
        [(name, _metric(result.test_metrics, name), _metric(champion_metrics, name),
          _metric(result.baseline_test_metrics, name)) for name in HEADLINE_METRICS],
    )]
    return "\n".join(lines)


def pipeline_markdown(result) -> str:
    """Summary of one pipeline run (a flows.pipeline.PipelineResult): each step in run order."""
    training = (training_markdown(result.training) if result.training is not None
                else "## Model\n\nNo training: " + result.training_reason + ".")
    return "\n\n".join([
        f"# Pipeline as of {result.as_of.isoformat()}",
        ingest_markdown(result.ingest),
        features_markdown(result.features, result.as_of),
        training,
        scoring_markdown(result.scores),
        export_markdown(result.export),
    ])


def optout_markdown(report) -> str:
    """Summary of one opt-out run (a warehouse.optout.OptoutReport)."""
    lines = [
        "## Opt-outs applied",
        "",
        (f"**{report.persons_requested:,}** person(s) asked to opt out: {report.erasures:,} "
        f"erasure(s) and {report.objections:,} objection(s). They appear in no segment file "
        "made from now on, and their later events are dropped at load."),
        f"{report.rows_rejected:,} row(s) of the file were rejected.",
    ]
    removed = {table: rows for table, rows in report.rows_removed.items() if rows}
    if removed:
        lines += ["", "### Rows removed", "", markdown_table(
            ["table", "rows"], [(table, f"{rows:,}") for table, rows in sorted(removed.items())])]
    if report.rejected_by_reason:
        lines += ["", "### Rejected rows by reason", "", markdown_table(
            ["reason", "rows"],
            [(reason, f"{count:,}") for reason, count in report.rejected_by_reason.items()])]
    return "\n".join(lines)


def _figure(value: float | None, form: str = ".3f") -> str:
    return "-" if value is None else format(value, form)


def monitor_markdown(report) -> str:
    """Summary of one monitor run (a monitoring.health.HealthReport): the alarms, the trend
    over scoring runs, the newest backtest per decile and the newest run's drift."""
    lines = [f"## Model health of {report.model_name}", ""]
    if not report.runs:
        return "\n".join(lines + ["No scoring run is stored yet: run `norrut score` first."])
    lines.append(f"Thresholds: stability index {report.psi_threshold:g}, AUC drop "
                 f"{report.max_auc_drop:g} below the test AUC, calibration error "
                 f"{report.max_calibration_error:g}.")
    lines += [""] + ([f"**Alarm**: {alarm}" for alarm in report.alarms] if report.alarms
                     else [("**No alarm**: the newest scoring run and the newest backtest "
                            "are within every threshold.")])
    lines += ["", "### Trend, oldest scoring run first", "", markdown_table(
        ["as of", "version", "backtest", "persons", "base rate", "AUC (test)", "lift 10 %",
         "ECE", "score PSI", "largest feature PSI", "no event 30 d"],
        [(run.as_of.isoformat(), run.model_version,
          "matured" if run.matured else f"matures {run.matures_on.isoformat()}",
          f"{run.persons_scored:,}", _figure(run.base_rate, ".2%"),
          f"{_figure(run.roc_auc)} ({_figure(run.test_roc_auc)})",
          _figure(run.lift_at_10pct, ".2f"), _figure(run.ece), _figure(run.score_psi),
          " ".join(f"{name} {value:.3f}" for name, value in run.most_drifted(1)),
          f"{run.inactive_30d_share:.1%}") for run in report.runs])]
    matured = report.matured_runs
    if matured:
        newest = matured[-1]
        lines += ["", (f"### Backtest of {newest.as_of.isoformat()} (version "
                       f"{newest.model_version}, {newest.horizon_days}-day horizon)"), "",
                  markdown_table(["decile", "persons", "mean predicted", "realised"],
                                 [(d.decile, f"{d.persons:,}", f"{d.mean_score:.2%}",
                                   f"{d.realised_rate:.2%}") for d in newest.deciles])]
    else:
        lines += ["", ("No scoring run has matured yet: a run is backtested once the events "
                       "reach past its as-of date plus the label horizon.")]
    newest = report.runs[-1]
    lines += ["", (f"### Most drifted features of {newest.as_of.isoformat()} (against the "
                   f"training snapshot {newest.reference_as_of.isoformat()})"), "",
              markdown_table(["feature", "PSI"], [(name, f"{value:.3f}") for name, value in
                                                  newest.most_drifted(5)])]
    return "\n".join(lines)
