-- grain: one row per scoring run of one model (as-of date and version) within the window
-- key: (as_of_date, model_version)
-- The stored scoring runs of the model whose as-of date is at most $within_days days before its
-- newest, oldest first: what the monitor measures (older runs keep the rows measured before).
with runs as (
    select * from marts.scores_runs where model_name = $model_name
),

window_start as (
    select max(as_of_date) - to_days($within_days::integer) as first_as_of from runs
),

final as (
    select as_of_date, model_name, model_version, model_run_id, test_metrics, persons_scored
    from runs, window_start
    where runs.as_of_date >= window_start.first_as_of
)

select * from final order by as_of_date, model_version;
