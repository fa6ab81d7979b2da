-- grain: one row per profiled person of one as-of date
-- key: (person_id, as_of_date)
-- The training label: did the person do at least one intent event of the chosen types in
-- [$as_of, $as_of + $horizon_days)? Features only see events before $as_of, labels only on or
-- after it, so the two never share an event.
create or replace table features.person_label as
with snapshot as (
    select person_id, as_of_date
    from features.person_features
    where as_of_date = $as_of::date
),

intents as (
    select person_id, count(*) as n_intent_events
    from staging.stg_events
    where is_intent
      and list_contains($intent_types::varchar[], event_type)
      and occurred_at >= $as_of::date
      and occurred_at < $as_of::date + to_days($horizon_days::integer)
    group by person_id
),

final as (
    select
        snapshot.person_id,
        snapshot.as_of_date,
        $horizon_days::integer as horizon_days,
        coalesce(intents.n_intent_events, 0) as n_intent_events,
        coalesce(intents.n_intent_events, 0) > 0 as label
    from snapshot
    left join intents on intents.person_id = snapshot.person_id
)

select * from final;
