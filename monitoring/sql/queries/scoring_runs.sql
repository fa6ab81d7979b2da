-- grain: one row per scoring run of one model (as-of date and version)
-- key: (as_of_date, model_version)
-- Every stored scoring run of the model, oldest first: what the monitor measures.
with runs as (
    select * from marts.scores_runs where model_name = $model_name
),

final as (
    select as_of_date, model_name, model_version, model_run_id, test_metrics, persons_scored
    from runs
)

select * from final order by as_of_date, model_version;
