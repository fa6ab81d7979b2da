-- grain: one row per person of the registered relation `measured_persons` (the treated persons
-- found in this warehouse file, and the holdout) with an intent event in the period
-- key: person_id
-- A person converted when they had at least one intent event of $intent_types on a day in
-- [$start, $end] (UTC): the label's definition (features/sql/person_label.sql), over the
-- measurement period instead of the label horizon. Run where the persons' events are (the file,
-- or each shard); lift_conversions.sql counts the units.
with members as (
    select distinct person_id from measured_persons
),

intents as (
    select distinct person_id
    from staging.stg_events
    where is_intent
      and list_contains($intent_types::varchar[], event_type)
      and occurred_at >= $start::date
      and occurred_at < $end::date + to_days(1)
),

final as (
    select members.person_id
    from members
    semi join intents on intents.person_id = members.person_id
)

select * from final order by person_id;
