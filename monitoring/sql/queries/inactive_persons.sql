-- grain: one row per person of monitor_scores (one scoring run's persons in this file)
-- key: person_id
-- Whether the scored person had no event in the 30 days before the run's as-of date; the main
-- process averages the flags of every place (inactive_share.sql).
with scores as (
    select person_id from monitor_scores
),

recent as (
    select distinct person_id
    from staging.stg_events
    where occurred_at >= $as_of::date - to_days(30) and occurred_at < $as_of::date
),

final as (
    select scores.person_id, recent.person_id is null as is_inactive
    from scores
    left join recent using (person_id)
)

select * from final order by person_id;
