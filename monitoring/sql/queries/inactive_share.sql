-- grain: exactly one row: the share of one scoring run's persons without any event in the 30
-- days before its as-of date
-- key: none
with scores as (
    select person_id
    from marts.person_scores
    where as_of_date = $as_of and model_name = $model_name and model_version = $model_version
),

recent as (
    select distinct person_id
    from staging.stg_events
    where occurred_at >= $as_of::date - to_days(30) and occurred_at < $as_of::date
),

final as (
    select coalesce(avg((recent.person_id is null)::integer), 0.0) as inactive_30d_share
    from scores
    left join recent using (person_id)
)

select * from final;
