-- grain: one row per as-of date and model version scored
-- key: (as_of_date, model_name, model_version)
insert or replace into marts.scores_runs (
    as_of_date, model_name, model_version, model_run_id, test_metrics, persons_scored, scored_at
)
values ($as_of, $model_name, $model_version, $run_id, $metrics, $persons, $scored_at);
