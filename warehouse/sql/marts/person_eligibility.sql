-- grain: one row per person ever seen in the events
-- key: person_id
-- The latest known consent decides (contract §1); on a tie in time, withdrawal wins (then the
-- smallest event_id). One aggregate per person picks that event: no sort over every event.
create or replace view marts.person_eligibility as
with latest as (
    select
        person_id,
        arg_min(
            {'id_type': id_type, 'consent': consent, 'occurred_at': occurred_at},
            (-epoch_us(occurred_at), consent, event_id)
        ) as latest_event
    from raw.events
    group by person_id
),

suppressed as (
    select person_key from raw.suppressed_persons
),

final as (
    select
        latest.person_id,
        latest.latest_event.id_type as id_type,
        latest.latest_event.consent as latest_consent,
        latest.latest_event.occurred_at as last_event_at,
        suppressed.person_key is not null as is_suppressed,
        latest.latest_event.consent and suppressed.person_key is null as is_eligible
    from latest
    left join suppressed on suppressed.person_key = sha256(latest.person_id)
)

select * from final;
