-- grain: one row per group of the registered relation `measured_persons` (treated, holdout)
-- key: group_name
-- A unit (a targeted id, or a held-out person) converted when one of its persons had at least
-- one intent event of $intent_types on a day in [$start, $end] (UTC): the label's definition
-- (features/person_label.sql), over the measurement period instead of the label horizon.
with members as (
    select group_name, unit_id, person_id from measured_persons
),

intents as (
    select distinct person_id
    from staging.stg_events
    where is_intent
      and list_contains($intent_types::varchar[], event_type)
      and occurred_at >= $start::date
      and occurred_at < $end::date + to_days(1)
),

per_unit as (
    select
        members.group_name,
        members.unit_id,
        bool_or(intents.person_id is not null) as has_converted
    from members
    left join intents on intents.person_id = members.person_id
    group by members.group_name, members.unit_id
),

final as (
    select
        group_name,
        count(*) as n_persons,
        count(*) filter (where has_converted) as n_converted
    from per_unit
    group by group_name
)

select * from final order by group_name;
