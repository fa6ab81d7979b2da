-- grain: at most one row: the scoring run an export uses
-- key: (as_of_date, model_name, model_version)
-- The model most recently scored for the as-of date, or the named model's latest scores.
with runs as (
    select * from marts.scores_runs
    where as_of_date = $as_of and ($model_name is null or model_name = $model_name)
),

final as (
    select as_of_date, model_name, model_version, model_run_id, test_metrics, persons_scored
    from runs
    order by scored_at desc
    limit 1
)

select * from final;
